"""Before a verdict blames the server: confirmation and baseline plays.

A property's judge sees one transcript. Some failures in it may be our own
doing, so before one is reported the campaign asks the property for two more
plays (both only after a failure, so passing examples cost nothing more):

1. **confirmation** (:meth:`~wirefault.properties.base.Property.confirm`): a second
   scenario that removes our doubt, e.g. the rest of an unfinished frame. Its
   verdict replaces the first one, and a failure is then reported with it.
2. **baseline** (:meth:`~wirefault.properties.base.Property.baseline`): the request
   that went unanswered under a fault, a staller or a reset, played alone on a
   fresh connection. If it is not answered there either while the server still
   answers its probe, the request is the problem, not the fault: the verdict
   becomes a pass with a note.

The campaign supplies the I/O through :class:`Player`; this module decides.

A timeout judged early (:mod:`wirefault.patience`) may end the confirmation's
reads, even while the server is still at work: it can only keep a failure
standing, and a failure is reported only once a replay with every deadline
waited out reproduces it, its second opinion included. The baseline waits every
deadline out: a request judged unanswered too early would turn a real failure
into a note.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from wirefault.codecs.base import Codec
from wirefault.properties.base import Note, Property, Verdict, answered, unanswered
from wirefault.properties.render import show
from wirefault.scenario import Scenario, Send
from wirefault.transcript import Transcript

__all__ = ["Judgement", "Player", "second_opinion"]


@dataclass(frozen=True)
class Judgement:
    """A verdict with the play it is about.

    Attributes:
        verdict: the final verdict.
        transcript: the play the verdict judged.
        scenario: the scenario of that play: a confirmation may replace the drawn one,
            and a failure's replay file holds this one.
    """

    verdict: Verdict
    transcript: Transcript
    scenario: Scenario


class Player(Protocol):
    """What the campaign lends the second opinion: plays, and the server's state."""

    def play(self, scenario: Scenario) -> Transcript:
        """Play ``scenario`` against the server (through the fault layer if it has toxics)."""

    def play_waiting(self, scenario: Scenario) -> Transcript:
        """Play ``scenario`` as :meth:`play` does, with no timeout judged early."""

    def play_hasty(self, scenario: Scenario) -> Transcript:
        """Play ``scenario`` as :meth:`play` does, silences certain even while the server
        is at work."""

    def crash_after(self, ended: float) -> Verdict | None:
        """A crash verdict if the managed server died of the play that ended at ``ended``."""

    def alive(self) -> bool:
        """Whether a fresh client's probe is answered now."""


def second_opinion(prop: Property, first: Judgement, codec: Codec, player: Player) -> Judgement:
    """The failing ``first`` judgement, confirmed, baselined, or turned into a note."""
    judgement = _confirmed(prop, first, codec, player)
    if judgement.verdict.ok or judgement.verdict.kind == "crash":
        return judgement
    return _baselined(prop, judgement, codec, player)


def _confirmed(prop: Property, first: Judgement, codec: Codec, player: Player) -> Judgement:
    again = prop.confirm(first.scenario, first.transcript, first.verdict, codec)
    if again is None:
        return first
    transcript = player.play_hasty(again)
    ended = time.monotonic()
    verdict = prop.judge(again, transcript, codec)
    if not verdict.ok:
        crash = player.crash_after(ended)
        if crash is not None:
            verdict = Verdict.failed(f"{verdict.message}; {crash.message}", "crash")
    return Judgement(verdict, transcript, again)


def _baselined(prop: Property, judgement: Judgement, codec: Codec, player: Player) -> Judgement:
    base = prop.baseline(judgement.scenario, judgement.transcript, judgement.verdict, codec)
    if base is None:
        return judgement
    alone = player.play_waiting(base)
    if answered(alone) or not player.alive():
        # Answered alone: the fault, staller or reset is to blame. Not even the probe
        # is answered now: the server is down or wedged, which the failure shows.
        return judgement
    request = b"".join(s.data for s in base.steps if isinstance(s, Send))
    missed = next((r for r in alone.expects if r.outcome != "ok" or not r.frames), None)
    how = unanswered(missed, alone.conn(missed.conn if missed else 0).ending())
    note = Note(
        "unanswered-request",
        f"a request the property needs answered, {show(request, 80)}, {how} even alone on "
        f"a fresh connection with no fault, stall or reset, while the probe was answered; "
        f"so its fate in the scenario says nothing about the server (is it a "
        f"request this server answers? with --codec {codec.name} wirefault cannot tell: "
        f"a codec that frames the protocol, or --probe, makes its requests ones the "
        f"server answers). The failure it hid: {judgement.verdict.message}",
    )
    return Judgement(Verdict.passed(note), judgement.transcript, judgement.scenario)


class NoteBook:
    """The notes of one property's run: one per topic, with how often it came up.

    Also counts the candidates that failed another way than the failure being
    shrunk (they count as passing for the shrinker: see the campaign).
    """

    def __init__(self) -> None:
        self._notes: dict[str, tuple[str, int]] = {}
        self._other: dict[str, tuple[str, int]] = {}

    def add(self, note: Note | None) -> None:
        """Keep ``note`` (the first text of its topic) and count it."""
        if note is not None:
            text, seen = self._notes.get(note.topic, (note.text, 0))
            self._notes[note.topic] = (text, seen + 1)

    def other_kind(self, verdict: Verdict) -> None:
        """A failure of another kind than the one being shrunk, seen while shrinking."""
        message, seen = self._other.get(verdict.kind, (verdict.message, 0))
        self._other[verdict.kind] = (message, seen + 1)

    def shrunk_by_luck(self, failure: Verdict) -> None:
        """Shrinking stopped: the failure being shrunk no longer failed when played again."""
        self.add(
            Note(
                "shrunk-by-luck",
                f"shrinking stopped early: the failure being shrunk ({failure.kind}) did not "
                "fail when played again, so it fails only some of the time (timing) and "
                "its smaller candidates failed by luck; it is reported as the verifying "
                "replays find it",
            )
        )

    def lines(self) -> list[str]:
        """One line per note, then one per other kind of failure seen."""
        out = [
            text + (f" (seen {seen} times)" if seen > 1 else "")
            for text, seen in self._notes.values()
        ]
        for kind, (message, seen) in self._other.items():
            out.append(
                f"while shrinking, {seen} smaller scenario(s) failed another way ({kind}), "
                f"kept apart from the failure reported: {message}"
            )
        return out
