"""The campaign summary: the fixed JSON contract of ``wirefault fuzz --json``, and its text form."""

from __future__ import annotations

from typing import Any

from wirefault.results import CampaignResult

__all__ = ["summary_json", "summary_text"]


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
    "message", "replay"}]}``; failures also carry ``agreement`` and ``scenario_size``.
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
        "failures": [
            {
                "property": f.property,
                "message": f.message,
                "replay": str(f.replay) if f.replay else None,
                "agreement": {"replays": f.agreement[0], "reproduced": f.agreement[1]},
                "scenario_size": f.scenario.size(),
            }
            for f in result.failures
        ],
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def summary_text(result: CampaignResult, *, verbose: bool = False) -> str:
    """A few lines for a terminal: one per property, then each failure with its replay command."""
    lines: list[str] = []
    for r in result.results:
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[r.status]
        shown = verbose or r.status != "passed" or not r.complete or "flaky" in r.note
        note = f"  ({r.note})" if r.note and shown else ""
        lines.append(f"{mark} {r.name:<16} {r.examples:>4} examples  {r.elapsed:6.2f}s{note}")
    for f in result.failures:
        lines.append("")
        lines.append(f"{f.property}: {f.message}")
        lines.append(f"  minimal scenario ({f.scenario.size()} units):")
        lines.extend(f"    {line}" for line in f.scenario.describe())
        lines.append(f"  reproduced {f.agreement[1]}/{f.agreement[0]} replays")
        if f.replay:
            lines.append(f"  replay file: {f.replay}")
            lines.append(f"  reproduce:   wirefault replay {f.replay}")
            lines.append(f"  inspect:     wirefault show {f.replay}")
    failed = len(result.failures)
    lines.append("")
    first = result.first_failure
    lines.append(
        f"{result.examples} examples in {result.elapsed:.1f}s: "
        + (f"{failed} propert{'y' if failed == 1 else 'ies'} failed" if failed else "no failures")
        + (f", the first found after {first:.1f}s" if first is not None else "")
    )
    if result.cut_short:
        lines.append(f"cut short (not run to the end): {', '.join(result.cut_short)}")
    return "\n".join(lines)
