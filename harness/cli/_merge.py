"""The runs of ``wirefault fuzz --workers N``, sent back by the workers, merged into one result.

A worker sends each run's :class:`PropertyResult` back as JSON, its failure pointing
at the replay file the worker wrote. The parent merges every property's runs into
one result, so the JSON summary, the text and the JUnit file come out of the same
code as a one-process run. Per property:

* examples and seconds add up over its runs (the seconds are work, not wall time:
  runs of one property may go on side by side);
* it failed if any run failed; the failure reported is the one with the smallest
  shrunk scenario (the earliest run on a tie), with a note of how many workers found
  it. The other runs' replay files of it are removed: without ``--seed`` their
  failing examples stay in the shared example database, tried first next time, and
  with it the same command finds them again;
* it was skipped only if every run skipped it; a property none of whose runs
  started before the time budget was spent passed with no examples, as in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wirefault.errors import ReplayError
from wirefault.results import CampaignResult, Failure, PropertyResult, Status
from wirefault.transcript import Transcript

__all__ = ["MergedRun", "merge_runs", "result_from_json", "result_to_json"]

#: The note of a property whose runs the time budget left unstarted (as the campaign says it).
OUT_OF_TIME = "time budget spent: stopped early"


@dataclass(frozen=True)
class MergedRun:
    """Every worker's runs as one campaign, and how many workers found each failure."""

    result: CampaignResult
    found_by: dict[str, int]


def result_to_json(r: PropertyResult) -> dict[str, Any]:
    """One run's result as JSON, for :func:`result_from_json` in the parent."""
    failure = r.failure
    return {
        "name": r.name,
        "status": r.status,
        "examples": r.examples,
        "elapsed": r.elapsed,
        "note": r.note,
        "examples_to_failure": r.examples_to_failure,
        "seconds_to_failure": r.seconds_to_failure,
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
    """A run's result as :func:`result_to_json` wrote it; a failure's scenario from its file.

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
        notes=[str(n) for n in data["notes"]],
    )


def merge_runs(
    order: list[str], runs: list[tuple[int, PropertyResult]], *, workers: int, elapsed: float
) -> MergedRun:
    """One result per property in ``order`` from ``runs``: (worker index, result) pairs.

    Replay files of failures that lose to a smaller one of the same property are deleted.
    """
    merged = CampaignResult(elapsed=elapsed)
    found_by: dict[str, int] = {}
    for name in order:
        mine = [(w, r) for w, r in runs if r.name == name]
        result = _merge_property(name, [r for _, r in mine])
        finders = {w for w, r in mine if r.failure is not None}
        if finders:
            found_by[name] = len(finders)
            result.note = f"found by {len(finders)} of {workers} workers"
        merged.results.append(result)
    return MergedRun(merged, found_by)


def _merge_property(name: str, runs: list[PropertyResult]) -> PropertyResult:
    if not runs:
        return PropertyResult(name, "passed", note=OUT_OF_TIME)
    failing = [r for r in runs if r.failure is not None]
    examples = sum(r.examples for r in runs)
    elapsed = sum(r.elapsed for r in runs)
    if not failing:
        status: Status = "skipped" if all(r.status == "skipped" for r in runs) else "passed"
        notes = dict.fromkeys(r.note for r in runs if r.note)  # distinct, in order
        return PropertyResult(
            name, status, examples, elapsed, note="; ".join(notes), notes=_notes(runs)
        )
    # The smallest shrunk scenario is the clearest report; min() keeps the first on a tie.
    chosen = min(failing, key=lambda r: r.failure.scenario.size() if r.failure else 0)
    for r in failing:
        if r is not chosen and r.failure is not None and r.failure.replay is not None:
            r.failure.replay.unlink(missing_ok=True)
    first = min(failing, key=lambda r: r.seconds_to_failure)
    return PropertyResult(
        name,
        "failed",
        examples,
        elapsed,
        failure=chosen.failure,
        examples_to_failure=first.examples_to_failure,
        seconds_to_failure=first.seconds_to_failure,
        notes=_notes(runs),
    )


def _notes(runs: list[PropertyResult]) -> list[str]:
    """The distinct notes of every run, in order."""
    return list(dict.fromkeys(n for r in runs for n in r.notes))
