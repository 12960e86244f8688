"""The ``malformed`` property: a malformed frame gets an error or a close, not a hang.

Silence after malformed bytes is not yet a hang: the server may be waiting for
the rest of a frame that is only malformed by *our* codec's limits (a 64 KiB
line limit where ours is 8 KiB), or that it reads as the start of something
longer (memcached reads a leading 0x80 as its binary protocol). Before blaming,
:meth:`Malformed.confirm` asks for a second play that finishes the frame as
the codec says a lenient server reads it (:meth:`~wirefault.codecs.base.Codec.completion`:
the newline, the rest of the declared length), or, when nothing can finish it,
half-closes. Only a server that still neither replies nor closes fails; one
that answers the finished frame passes with a note.

A finished frame that is still met with silence gets two more questions in the
same play: the probe request on the same connection, then a half-close. A
server that answers the probe dropped the frame without a word (a failure); one
that does not, but closes at the half-close, took the probe as more of the frame
(memcached reads a line starting with 0x80 as a binary header announcing a
2 GiB body): it was waiting for bytes, which is noted, not failed.

Scenario meta used (set by :func:`~wirefault.strategies.scenarios.malformed_scenarios`):
``malformed`` (the kind), ``malformed_step`` (the index of the Send carrying it);
a confirmation adds ``confirm`` = ``completed`` or ``half-closed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hypothesis.strategies import SearchStrategy

import wirefault.strategies.scenarios as built
from wirefault.codecs.base import Codec
from wirefault.errors import FrameError
from wirefault.properties.base import Note, Property, PropertyContext, Verdict, alone
from wirefault.properties.describe import describe_malformed
from wirefault.properties.render import count, show
from wirefault.properties.robustness import served
from wirefault.scenario import Expect, ExpectClose, HalfClose, Scenario, Send, Step
from wirefault.transcript import ExpectResult, Transcript

__all__ = ["COMPLETION_LIMIT", "Malformed"]

#: The most bytes a confirmation sends to finish a frame (or twice the codec's
#: maximum frame, if more; never more than 64 MiB). Longer rests: half-close instead.
COMPLETION_LIMIT = 4 << 20
_COMPLETION_CAP = 64 << 20


def _completion_limit(codec: Codec) -> int:
    return min(max(COMPLETION_LIMIT, 2 * codec.max_frame), _COMPLETION_CAP)


def _hung(transcript: Transcript) -> ExpectResult | None:
    """c0's last Expect if it got neither a frame nor a close in time."""
    results = transcript.expects_on(0)
    if results and results[-1].outcome == "timeout" and not results[-1].frames:
        return results[-1]
    return None


def _malformed_step(scenario: Scenario) -> int | None:
    """The index of the Send carrying the malformed frame (meta, else c0's last Send)."""
    tagged = scenario.tag("malformed_step")
    if tagged.isdigit() and int(tagged) < len(scenario.steps):
        step = scenario.steps[int(tagged)]
        if isinstance(step, Send) and step.conn == 0:
            return int(tagged)
    sends = [i for i, s in enumerate(scenario.steps) if isinstance(s, Send) and s.conn == 0]
    return sends[-1] if sends else None


def _probe_of(scenario: Scenario, codec: Codec) -> bytes:
    """The probe request the scenario's other client sends (the codec's, if none)."""
    others = [c for c in scenario.connections() if c != 0]
    if others:
        sends = [s for s in scenario.steps if isinstance(s, Send) and s.conn == others[-1]]
        if sends:
            return sends[-1].data
    return codec.probe()


@dataclass(frozen=True)
class _Fate:
    """What became of a finished frame (a ``completed`` confirmation), read from c0's Expects.

    ``outcome``: ``answered`` (a reply or a close came), ``dropped`` (silence, but the
    next request was answered), ``waited`` (silence, no answer to the next request,
    a close at the half-close), ``hung`` (silence even after the half-close).
    """

    outcome: str
    first: ExpectResult | None
    finished_after: float = 0.0
    close_after: float = 0.0


def _finished_fate(scenario: Scenario, transcript: Transcript) -> _Fate:
    index = _malformed_step(scenario) or 0
    after = [r for r in transcript.expects_on(0) if r.step > index]
    finished, asked, closing = [*after, None, None, None][:3]
    if finished is None or finished.frames or finished.outcome != "timeout":
        return _Fate("answered", finished)
    took = finished.elapsed
    if asked is not None and asked.frames:
        return _Fate("dropped", finished, took)
    if closing is not None and closing.outcome in ("ok", "eof", "rst"):
        return _Fate("waited", finished, took)
    return _Fate("hung", finished, took, closing.elapsed if closing is not None else 0.0)


def _sent_until(scenario: Scenario, index: int) -> bytes:
    """What c0 sends in steps ``0..index``."""
    steps = scenario.steps[: index + 1]
    return b"".join(s.data for s in steps if isinstance(s, Send) and s.conn == 0)


class Malformed(Property):
    """A malformed frame gets an error reply or a close, not a hang; others are still served."""

    name: ClassVar[str] = "malformed"
    summary: ClassVar[str] = (
        "a malformed frame gets an error or a close in time, and others are served"
    )
    needs_framing: ClassVar[bool] = True

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.malformed_scenarios(
            codec,
            backend=ctx.backend,
            deadline=ctx.deadline,
            probe=ctx.probe,
            samples=ctx.samples,
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        if scenario.tag("confirm") == "completed":
            fate = _finished_fate(scenario, transcript)
            if fate.outcome in ("dropped", "hung"):
                message = self._unanswered_finished(scenario, transcript, fate, codec)
                return Verdict.failed(message, "timeout")
        else:
            hung = _hung(transcript)
            if hung is not None:
                return Verdict.failed(self._hang(scenario, transcript, hung, codec), "timeout")
        others = [c for c in scenario.connections() if c != 0]
        if others:
            verdict = served(transcript, others[-1], f"after {self._what(scenario, codec)} on c0")
            if not verdict.ok:
                return verdict
        return Verdict.passed(self._note(scenario, transcript, codec))

    def confirm(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """Finish the frame (or half-close) and play again, if c0 got neither reply nor close."""
        if scenario.tag("confirm") or _hung(transcript) is None:
            return None
        if any(isinstance(s, HalfClose) and s.conn == 0 for s in scenario.steps):
            return None  # the server had EOF already: nothing more can come
        index = _malformed_step(scenario)
        if index is None:
            return None
        rest = codec.completion(_sent_until(scenario, index), limit=_completion_limit(codec))
        head, tail = scenario.steps[: index + 1], scenario.steps[index + 1 :]
        if rest:
            # The rest, then (if still silent) the probe on c0, then a half-close:
            # see the module docstring. c0's own Expect is replaced by these.
            asked = _probe_of(scenario, codec)
            added: tuple[Step, ...] = (
                Send(conn=0, chunks=(rest,)),
                Expect(conn=0, count=1),
                Send(conn=0, chunks=(asked,)),
                Expect(conn=0, count=1),
                HalfClose(conn=0),
                ExpectClose(conn=0),
            )
            tail = tuple(s for s in tail if not (isinstance(s, Expect) and s.conn == 0))
        else:
            added = (HalfClose(conn=0),)
        how = "completed" if rest else "half-closed"
        return Scenario(
            steps=(*head, *added, *tail), toxics=scenario.toxics, meta=scenario.meta
        ).with_meta(confirm=how)

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """The other client's probe alone, when it is the probe that went unanswered."""
        others = [c for c in scenario.connections() if c != 0]
        if _hung(transcript) is not None or not others:
            return None
        return alone(scenario, others[-1])

    # -- words ---------------------------------------------------------------------------------

    def _what(self, scenario: Scenario, codec: Codec) -> str:
        """The malformed frame in words, with its bytes."""
        index = _malformed_step(scenario)
        step = scenario.steps[index] if index is not None else None
        data = step.data if isinstance(step, Send) else b""
        return f"{describe_malformed(scenario.tag('malformed'), data, codec)} {show(data, 60)}"

    def _rest(self, scenario: Scenario) -> bytes:
        """The bytes a confirmation added to finish the frame."""
        index = _malformed_step(scenario)
        if index is None or index + 1 >= len(scenario.steps):
            return b""
        step = scenario.steps[index + 1]
        return step.data if isinstance(step, Send) else b""

    def _unanswered_finished(
        self, scenario: Scenario, transcript: Transcript, fate: _Fate, codec: Codec
    ) -> str:
        """The failure of a finished frame that got neither reply nor close."""
        what = self._what(scenario, codec)
        kind = scenario.tag("malformed")
        tail = f" (malformed kind {kind})" if kind else ""
        rest = self._rest(scenario)
        if transcript.conn(0).short_send:
            return (
                f"after {what}, the server stopped reading before the "
                f"{count(len(rest), 'byte')} that finish it could be sent{tail}"
            )
        finished = f"finished by {count(len(rest), 'more byte')} {show(rest, 40)}"
        silent = f"neither replied nor closed within {fate.finished_after:.1f}s"
        if fate.outcome == "dropped":
            return (
                f"after {what}, {finished}, the server {silent}, yet it answered the next "
                f"request {show(_probe_of(scenario, codec), 40)} on the same connection: "
                f"it dropped the frame without an answer{tail}"
            )
        return (
            f"after {what}, {finished}, the server {silent}, did not answer the next request "
            f"either, and did not close within {fate.close_after:.1f}s of the client's "
            f"half-close (EOF){tail}"
        )

    def _hang(
        self, scenario: Scenario, transcript: Transcript, hung: ExpectResult, codec: Codec
    ) -> str:
        what = self._what(scenario, codec)
        within = f"within {hung.elapsed:.1f}s"
        kind = scenario.tag("malformed")
        tail = f" (malformed kind {kind})" if kind else ""
        confirmed = scenario.tag("confirm")
        if confirmed == "half-closed":
            return (
                f"after {what} the server neither replied nor closed, and still did not "
                f"{within} of the client's half-close (EOF){tail}"
            )
        if any(isinstance(s, HalfClose) and s.conn == 0 for s in scenario.steps):
            return (
                f"after {what} and a half-close (EOF), the server neither replied nor "
                f"closed {within}{tail}"
            )
        return f"after {what}, the server neither replied nor closed {within}{tail}"

    def _note(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Note | None:
        """What a confirmation that passed taught: a larger limit, or a server that waits."""
        confirmed = scenario.tag("confirm")
        if not confirmed:
            return None
        results = transcript.expects_on(0)
        outcome = results[-1].outcome if results else transcript.conn(0).end
        if confirmed == "completed":
            fate = _finished_fate(scenario, transcript)
            outcome = fate.first.outcome if fate.first is not None else outcome
        then = {"ok": "answered", "eof": "closed the connection", "rst": "reset it"}.get(
            outcome, f"ended the read ({outcome})"
        )
        what = self._what(scenario, codec)
        kind = scenario.tag("malformed")
        if confirmed == "completed" and _finished_fate(scenario, transcript).outcome == "waited":
            return Note(
                f"waited:{kind}",
                f"after {what}, finished by {count(len(self._rest(scenario)), 'more byte')}, "
                f"the server still waited for more: it took the next request as more of the "
                f"frame (is it another protocol than --codec {codec.name}'s?) and closed the "
                f"connection at the client's half-close: not a hang",
            )
        if confirmed == "half-closed":
            return Note(
                f"waited:{kind}",
                f"after {what} the server waited for more bytes (no reply, no close) until the "
                f"client half-closed, then {then}: not a hang",
            )
        limit = ""
        try:
            codec.request_decoder().feed(transcript.conn(0).sent)
        except FrameError as exc:
            limit = (
                f". The finished frame is beyond --codec {codec.name}'s limits "
                f"({str(exc).split(';')[0]}): if the server's limit is meant to be larger, "
                "raise the codec's (--max-line, --max-frame) to match"
            )
        return Note(
            f"{'limit' if limit else 'waited'}:{kind}",
            f"after {what} the server waited for the rest of the frame, and {then} once "
            f"{count(len(self._rest(scenario)), 'more byte')} finished it: not a hang{limit}",
        )
