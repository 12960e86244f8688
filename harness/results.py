"""What a campaign found: per-property results and the failures, shrunk and verified.

Plain data, shared by the campaign, the reports and the pytest plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wirefault.scenario import Scenario
from wirefault.transcript import Transcript

__all__ = ["CampaignResult", "Failure", "PropertyResult", "Status"]

Status = Literal["passed", "failed", "skipped"]


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
    #: Seconds from the property's start to its first failing example.
    seconds_to_failure: float = 0.0
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
