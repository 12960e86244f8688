"""The rounds of ``wirefault fuzz --workers N``, sent back by the workers, merged into one result.

A worker sends back how each round went: the examples it played, its seconds,
whether Hypothesis ran out of examples to try or the time budget cut it, and,
for the round that found a property's failure, the property's result as JSON,
its failure pointing at the replay file the worker wrote. The parent's
:class:`~wirefault.schedule.Schedule` already adds up each property's examples
and seconds (work, not wall time: rounds of one property may play side by side)
and knows whether it ran to its end; this module turns that and the concluded
results into one result per property, so the JSON summary, the text and the
JUnit file come out of the same code as a one-process run:

* a property failed if any round failed; the failure reported is the one with
  the smallest shrunk scenario (the first concluded on a tie), with a note of how
  many workers found it. The other rounds' replay files of it are removed:
  without ``--seed`` their failing examples stay in the shared example
  database, tried first next time, and with it the same command finds them again;
* a property that does not apply to the codec is skipped; one the time budget
  (or ``-x``) left unstarted is skipped with the reason, and one it cut short
  passed with a note (:func:`wirefault.results.property_result`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wirefault.errors import ReplayError
from wirefault.results import CampaignResult, Failure, PropertyResult, property_result
from wirefault.schedule import Schedule
from wirefault.transcript import Transcript

__all__ = ["MergedRun", "merge_rounds", "result_from_json", "result_to_json"]


@dataclass(frozen=True)
class MergedRun:
    """Every worker's rounds as one campaign, and how many workers found each failure."""

    result: CampaignResult
    found_by: dict[str, int]


def result_to_json(r: PropertyResult) -> dict[str, Any]:
    """One property's concluded result as JSON, for :func:`result_from_json` in the parent."""
    failure = r.failure
    return {
        "name": r.name,
        "status": r.status,
        "examples": r.examples,
        "elapsed": r.elapsed,
        "note": r.note,
        "examples_to_failure": r.examples_to_failure,
        "seconds_to_failure": r.seconds_to_failure,
        "complete": r.complete,
        "notes": r.notes,
        "failure": None
        if failure is None
        else {
            "message": failure.message,
            "replay": str(failure.replay) if failure.replay else None,
            "agreement": list(failure.agreement),
            "crash": failure.crash,
            "kind": failure.kind,
        },
    }


def result_from_json(data: dict[str, Any]) -> PropertyResult:
    """A result as :func:`result_to_json` wrote it; a failure's scenario from its file.

    Raises:
        ReplayError: the failure's replay file is missing or unreadable.
        KeyError, ValueError, TypeError: the data is not what a worker sends (a bug).
    """
    failure = None
    if data["failure"] is not None:
        # Imported here: the replay module pulls in every codec, needed only for failures.
        from wirefault.replay import load_replay

        f = data["failure"]
        if not f["replay"]:
            raise ReplayError(f"a worker's {data['name']} failure has no replay file")
        replay = load_replay(f["replay"])
        failure = Failure(
            property=data["name"],
            message=f["message"],
            scenario=replay.scenario,
            transcript=Transcript(events=replay.events),
            replay=Path(f["replay"]),
            agreement=(int(f["agreement"][0]), int(f["agreement"][1])),
            crash=f["crash"],
            kind=f["kind"],
        )
    return PropertyResult(
        name=data["name"],
        status=data["status"],
        examples=int(data["examples"]),
        elapsed=float(data["elapsed"]),
        failure=failure,
        note=data["note"],
        examples_to_failure=int(data["examples_to_failure"]),
        seconds_to_failure=float(data["seconds_to_failure"]),
        complete=bool(data.get("complete", True)),
        notes=[str(n) for n in data.get("notes", [])],
    )


def merge_rounds(
    schedule: Schedule,
    concluded: list[tuple[int, PropertyResult]],
    *,
    skipped: dict[str, str],
    order: list[str],
    stopped: str,
    workers: int,
    elapsed: float,
    notes: dict[str, list[str]] | None = None,
) -> MergedRun:
    """One result per property in ``order``.

    Args:
        schedule: the rounds handed out and how they went.
        concluded: (worker index, result) of every round that found a failure.
        skipped: properties that do not apply, with the reason.
        stopped: why the run ended early (see :func:`wirefault.results.property_result`).
        notes: what each property's rounds learnt that is not a failure, by name.

    Replay files of failures that lose to a smaller one of the same property are deleted.
    """
    merged = CampaignResult(elapsed=elapsed)
    found_by: dict[str, int] = {}
    for name in order:
        if name in skipped:
            merged.results.append(PropertyResult(name, "skipped", note=skipped[name]))
            continue
        mine = [(w, r) for w, r in concluded if r.name == name]
        finders = {w for w, r in mine if r.failure is not None}
        result = property_result(
            name,
            played=schedule.played(name),
            seconds=schedule.seconds(name),
            complete=schedule.complete(name),
            concluded=_one_conclusion([r for _, r in mine]),
            stopped=stopped,
            notes=(notes or {}).get(name, []),
        )
        if finders:
            found_by[name] = len(finders)
            result.note = f"found by {len(finders)} of {workers} workers"
        merged.results.append(result)
    return MergedRun(merged, found_by)


def _one_conclusion(results: list[PropertyResult]) -> PropertyResult | None:
    """The failure to report among ``results`` (others' replay files removed), else the first."""
    failing = [r for r in results if r.failure is not None]
    if not failing:
        return results[0] if results else None
    # The smallest shrunk scenario is the clearest report; min() keeps the first on a tie.
    chosen = min(failing, key=lambda r: r.failure.scenario.size() if r.failure else 0)
    for r in failing:
        if r is not chosen and r.failure is not None and r.failure.replay is not None:
            r.failure.replay.unlink(missing_ok=True)
    first = min(failing, key=lambda r: r.seconds_to_failure)
    chosen.examples_to_failure = first.examples_to_failure
    chosen.seconds_to_failure = first.seconds_to_failure
    chosen.complete = all(r.complete for r in failing)
    chosen.notes = _merged_notes(*(r.notes for r in results))
    return chosen


def _merged_notes(*groups: list[str]) -> list[str]:
    """The distinct notes of ``groups``, in order."""
    return list(dict.fromkeys(n for group in groups for n in group))
