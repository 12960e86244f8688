"""The second opinion: which plays may end a read early, and which must wait every deadline."""

from __future__ import annotations

from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.judging import Judgement, second_opinion
from wirefault.properties.base import Property, PropertyContext, Verdict
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.transcript import Transcript

LINE = get_codec("line")
DRAWN = Scenario(steps=(Send(conn=0, chunks=(b"drawn",)), Expect(conn=0), Close(conn=0)))
AGAIN = Scenario(steps=(Send(conn=0, chunks=(b"again\n",)), Expect(conn=0), Close(conn=0)))
ALONE = Scenario(steps=(Send(conn=0, chunks=(b"alone\n",)), Expect(conn=0), Close(conn=0)))


class _Unanswered(Property):
    """Fails every play; confirms with AGAIN and baselines with ALONE."""

    name: ClassVar[str] = "test-unanswered"
    summary: ClassVar[str] = "for the test"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return st.just(DRAWN)

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        return Verdict.failed("no answer", "timeout")

    def confirm(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        return AGAIN

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        return ALONE


class _Player:
    """Records how each scenario was played."""

    def __init__(self) -> None:
        self.plays: list[tuple[str, Scenario]] = []

    def play(self, scenario: Scenario) -> Transcript:
        self.plays.append(("play", scenario))
        return Transcript()

    def play_waiting(self, scenario: Scenario) -> Transcript:
        self.plays.append(("waiting", scenario))
        return Transcript()

    def play_hasty(self, scenario: Scenario) -> Transcript:
        self.plays.append(("hasty", scenario))
        return Transcript()

    def crash_after(self, ended: float) -> Verdict | None:
        return None

    def alive(self) -> bool:
        return True


def test_the_confirmation_may_end_early_and_the_baseline_waits_every_deadline() -> None:
    # An early timeout in the confirmation can only keep the failure standing; in the
    # baseline it could turn a real failure into a note.
    player = _Player()
    first = Judgement(Verdict.failed("no answer", "timeout"), Transcript(), DRAWN)
    judgement = second_opinion(_Unanswered(), first, LINE, player)
    assert player.plays == [("hasty", AGAIN), ("waiting", ALONE)]
    assert judgement.scenario == AGAIN  # the failure is reported with its confirmation
