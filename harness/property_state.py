"""One property's progress over a campaign's rounds: what it played, found and concluded."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis.strategies import SearchStrategy

from wirefault.judging import NoteBook
from wirefault.properties import PropertyContext, Verdict
from wirefault.results import PropertyResult
from wirefault.scenario import Scenario
from wirefault.transcript import Transcript

__all__ = ["PropertyState"]


@dataclass
class PropertyState:
    """One property's progress over its rounds."""

    examples: int = 0
    failure: tuple[Scenario, Transcript, Verdict] | None = None
    first_failure: float = 0.0
    #: When shrinking began (the first failure, or the deferred shrinking run).
    shrink_began: float = 0.0
    #: A failure found now ends the round unshrunk, to be shrunk later (``shrink_deferred``).
    defer: bool = False
    #: The next example is the deferred failure taken up again (its replay).
    taking_up: bool = False
    #: The deferred failure did not fail again when taken up: it rests on timing, or on
    #: state the server had built up; looking for it again and shrinking it get less time.
    unreproduced: bool = False
    #: Shrink candidates in a row that did not fail (see ``Campaign._still_fails``).
    since_failing: int = 0
    examples_to_failure: int = 0
    flaky: bool = False
    #: Seconds the first failing example took to play and judge (sizes the reserve).
    failure_cost: float = 0.0
    #: The time budget cut the current round short.
    cut: bool = False
    #: Bytes the current round's scenarios sent.
    round_bytes: int = 0
    #: Examples the current round's Hypothesis run has drawn so far.
    round_drawn: int = 0
    #: 1 when the current round's first example was the opening, not played again.
    round_skipped: int = 0
    #: The property's result once a failure has been concluded.
    result: PropertyResult | None = None
    #: The scenario the failure's verdict is about (a confirmation may replace the drawn one).
    blamed: Scenario | None = None
    #: What was learnt that is not a failure, and failures of another kind seen shrinking.
    notes: NoteBook = field(default_factory=NoteBook)
    #: The fault layer's fall-back notice, if it happened during this property.
    fallback_notes: list[str] = field(default_factory=list)
    #: The property's first example, once it passed: every Hypothesis run starts with
    #: its simplest scenario, so each round after the first would play it again.
    opening: Scenario | None = None
    #: A failure its verifying replays did not reproduce, set aside (passed, with a note)
    #: while the property searched on: its result, unless something else is concluded.
    dismissed: PropertyResult | None = None
    #: The property's scenario strategy, and the context it was built for.
    scenarios: tuple[PropertyContext, SearchStrategy[Scenario]] | None = None

    def forget_failure(self) -> None:
        """Back to searching: the failure found, and its shrinking, are set aside."""
        self.failure = self.blamed = self.result = None
        self.first_failure = self.shrink_began = self.failure_cost = 0.0
        self.examples_to_failure = self.since_failing = 0
        self.taking_up = self.unreproduced = self.flaky = self.defer = False
