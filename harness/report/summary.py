"""The campaign summary: the fixed JSON contract of ``wirefault fuzz --json``, and its text form."""

from __future__ import annotations

from typing import Any

from wirefault.results import CampaignResult, Failure, PropertyResult
from wirefault.scenario import Scenario, Send

__all__ = ["scenario_size_words", "summary_json", "summary_text"]


def scenario_size_words(scenario: Scenario) -> str:
    """``"5 steps, 9 bytes sent"`` (and toxics, if any): the parts ``scenario.size()`` adds up."""
    sent = sum(len(s.data) for s in scenario.steps if isinstance(s, Send))
    steps = len(scenario.steps)
    words = f"{steps} step{'' if steps == 1 else 's'}, {sent:,} byte{'' if sent == 1 else 's'} sent"
    if scenario.toxics:
        toxics = len(scenario.toxics)
        words += f", {toxics} toxic{'' if toxics == 1 else 's'}"
    return words


def _failure_json(r: PropertyResult, f: Failure) -> dict[str, Any]:
    return {
        "property": f.property,
        "kind": f.kind,
        "message": f.message,
        "replay": str(f.replay) if f.replay else None,
        "agreement": {"replays": f.agreement[0], "reproduced": f.agreement[1]},
        "scenario_size": f.scenario.size(),
        "examples_to_failure": r.examples_to_failure,
        "seconds_to_failure": round(r.seconds_to_failure, 3),
    }


def summary_json(
    result: CampaignResult,
    *,
    target: str,
    transport: str,
    codec: str,
    backend: str,
    seed: int | None,
) -> dict[str, Any]:
    """The JSON summary (keys fixed by the command's contract).

    ``{"target", "transport", "codec", "backend", "seed", "examples", "elapsed_s",
    "properties": {name: "passed"|"failed"|"skipped"}, "failures": [{"property",
    "kind", "message", "replay"}], "notes": [{"property", "note"}]}``; failures also
    carry ``agreement``, ``scenario_size`` (steps + bytes sent + toxics),
    ``examples_to_failure`` and ``seconds_to_failure`` (from the command's launch).
    Added since: ``"first_failure_s"`` (seconds from launch to the first failing
    example of a reported failure, or null), ``"complete"`` (false when the time
    budget or ``-x`` cut any property short) and ``"per_property"``: {name:
    {"status", "examples", "elapsed_s", "complete", "seconds_to_failure", "note"}}.
    """
    return {
        "target": target,
        "transport": transport,
        "codec": codec,
        "backend": backend,
        "seed": seed,
        "examples": result.examples,
        "elapsed_s": round(result.elapsed, 3),
        "first_failure_s": _rounded(result.first_failure),
        "complete": not result.cut_short,
        "properties": {r.name: r.status for r in result.results},
        "per_property": {
            r.name: {
                "status": r.status,
                "examples": r.examples,
                "elapsed_s": round(r.elapsed, 3),
                "complete": r.complete,
                "seconds_to_failure": _rounded(r.seconds_to_failure if r.failure else None),
                "note": r.note,
            }
            for r in result.results
        },
        "failures": [_failure_json(r, r.failure) for r in result.results if r.failure],
        "notes": [{"property": r.name, "note": n} for r in result.results for n in r.notes],
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _failure_text(r: PropertyResult, f: Failure) -> list[str]:
    lines = ["", f"{f.property} ({f.kind}): {f.message}"]
    lines.append(
        f"  first failing example: #{r.examples_to_failure}, "
        f"{r.seconds_to_failure:.2f}s after the launch"
    )
    lines.append(f"  minimal scenario ({scenario_size_words(f.scenario)}):")
    lines.extend(f"    {line}" for line in f.scenario.describe())
    lines.append(f"  reproduced {f.agreement[1]}/{f.agreement[0]} replays")
    if f.replay:
        lines.append(f"  replay file: {f.replay}")
        lines.append(f"  reproduce:   wirefault replay {f.replay}")
        lines.append(f"  inspect:     wirefault show {f.replay}")
    return lines


def summary_text(result: CampaignResult, *, verbose: bool = False) -> str:
    """A few lines for a terminal: one per property, then each failure with its replay command."""
    lines: list[str] = []
    for r in result.results:
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[r.status]
        shown = verbose or r.status != "passed" or not r.complete or "flaky" in r.note
        note = f"  ({r.note})" if r.note and shown else ""
        lines.append(f"{mark} {r.name:<16} {r.examples:>4} examples  {r.elapsed:6.2f}s{note}")
        lines.extend(f"       note: {n}" for n in r.notes)
    for r in result.results:
        if r.failure is not None:
            lines.extend(_failure_text(r, r.failure))
    failed = len(result.failures)
    first = result.first_failure
    lines.append("")
    lines.append(
        f"{result.examples} examples in {result.elapsed:.1f}s: "
        + (f"{failed} propert{'y' if failed == 1 else 'ies'} failed" if failed else "no failures")
        + (f", the first found after {first:.1f}s" if first is not None else "")
    )
    if result.cut_short:
        lines.append(f"cut short (not run to the end): {', '.join(result.cut_short)}")
    return "\n".join(lines)
