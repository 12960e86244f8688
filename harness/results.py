"""What a campaign found: per-property results and the failures, shrunk and verified.

Plain data, shared by the campaign, the reports and the pytest plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wirefault.scenario import Scenario
from wirefault.schedule import Round
from wirefault.transcript import Transcript

__all__ = [
    "EXITFIRST",
    "OUT_OF_TIME",
    "CampaignResult",
    "Failure",
    "PropertyResult",
    "RoundOutcome",
    "Status",
    "property_result",
]

Status = Literal["passed", "failed", "skipped"]

#: Why a run ends before its properties do: the time budget, or ``-x`` after a failure.
OUT_OF_TIME = "the time budget was spent"
EXITFIRST = "-x stopped the run at the first failure"


@dataclass
class Failure:
    """A shrunk, verified failure of one property."""

    property: str
    message: str
    scenario: Scenario
    transcript: Transcript
    replay: Path | None = None
    agreement: tuple[int, int] = (0, 0)
    crash: str = ""
    #: How it shows itself (a :data:`~wirefault.properties.kinds.FailureKind`: timeout, closed...).
    kind: str = "other"


@dataclass
class PropertyResult:
    """How one property fared."""

    name: str
    status: Status
    examples: int = 0
    elapsed: float = 0.0
    failure: Failure | None = None
    note: str = ""
    #: Examples run until the first failing one (inclusive); 0 when none failed.
    examples_to_failure: int = 0
    #: Seconds from the start of the run (the command's launch) to its first failing example.
    seconds_to_failure: float = 0.0
    #: False when the time budget, ``-x`` or an interrupt cut it short: examples
    #: left unplayed, or a failure's shrinking or verifying replays cut.
    complete: bool = True
    #: What was learnt that is not a failure (a server limit larger than the codec's,
    #: a request unanswered even alone...), one line each.
    notes: list[str] = field(default_factory=list)


@dataclass
class CampaignResult:
    """Every property's result, in order."""

    results: list[PropertyResult] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failures(self) -> list[Failure]:
        """The failures found, one per failed property."""
        return [r.failure for r in self.results if r.failure is not None]

    @property
    def examples(self) -> int:
        """Examples run over all properties."""
        return sum(r.examples for r in self.results)

    @property
    def cut_short(self) -> list[str]:
        """The properties that did not run to their end."""
        return [r.name for r in self.results if not r.complete]

    @property
    def first_failure(self) -> float | None:
        """Seconds from the start of the run to the first failing example of a reported failure."""
        times = [r.seconds_to_failure for r in self.results if r.failure is not None]
        return min(times) if times else None


@dataclass(frozen=True)
class RoundOutcome:
    """How one round went.

    Attributes:
        examples: new examples it played.
        seconds: how long it took, shrinking and verifying included.
        exhausted: Hypothesis had fewer examples to try than the round asked for.
        cut: the time budget cut it short.
        result: the property's result when this round found its failure (failed, or
            passed with a note when the failure did not reproduce), else None.
        notes: what the property's rounds have learnt so far that is not a failure.
        deferred: it found a failure whose shrinking waits until every property has
            had a round (the property gets no more rounds of its own).
    """

    round: Round
    examples: int
    seconds: float
    exhausted: bool
    cut: bool
    result: PropertyResult | None
    notes: tuple[str, ...] = ()
    deferred: bool = False


def property_result(
    name: str,
    *,
    played: int,
    seconds: float,
    complete: bool,
    concluded: PropertyResult | None,
    stopped: str,
    notes: list[str] | None = None,
) -> PropertyResult:
    """A property's result once its rounds are over.

    Args:
        played: examples all its rounds played.
        seconds: the time they took (work, not wall time).
        complete: whether it ran to its end (see :attr:`PropertyResult.complete`).
        concluded: the result of the round that found a failure (failed, or passed
            with a note when it did not reproduce), if one did.
        stopped: why the run ended early (``OUT_OF_TIME``, ``EXITFIRST``), or "".
        notes: what its rounds learnt that is not a failure (see :attr:`PropertyResult.notes`).
    """
    why = stopped or OUT_OF_TIME
    learnt = list(dict.fromkeys(notes or ()))
    if concluded is not None:
        concluded.examples, concluded.elapsed = played, seconds
        concluded.complete = concluded.complete and complete
        concluded.notes = list(dict.fromkeys([*concluded.notes, *learnt]))
        return concluded
    if not complete and played == 0:
        return PropertyResult(
            name, "skipped", 0, seconds, note=f"not run: {why}", complete=False, notes=learnt
        )
    note = "" if complete else f"cut short: {why}"
    return PropertyResult(
        name, "passed", played, seconds, note=note, complete=complete, notes=learnt
    )
