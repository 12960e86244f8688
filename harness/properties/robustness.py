"""Properties about surviving hostile clients: stalls, resets, half-closes.

Each checks the abused connection behaved sanely *and* that another client is
still served afterwards, within the runner's deadline. A failure that blames a
stall or a reset for a request left unanswered names a baseline: the same
request alone on a fresh connection, which must be answered for the blame to
stand (:meth:`~wirefault.properties.base.Property.baseline`). The ``malformed``
property lives in :mod:`wirefault.properties.malformed`.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis.strategies import SearchStrategy

import wirefault.strategies.scenarios as built
from wirefault.codecs.base import Codec
from wirefault.properties.base import (
    Property,
    PropertyContext,
    Verdict,
    alone,
    unanswered,
)
from wirefault.properties.comparison import closed_unanswered, lost_at_close_note
from wirefault.properties.kinds import FailureKind
from wirefault.properties.render import count, first_difference, outcome_kind, show
from wirefault.scenario import Abort, Open, Scenario, Send
from wirefault.transcript import Transcript

__all__ = ["HalfCloseProperty", "Reset", "StallIsolation", "served"]


def served(transcript: Transcript, conn: int, why: str) -> Verdict:
    """Pass when connection ``conn``'s last Expect got its answer; else say how it did not.

    ``why`` begins the message (what happened before, e.g. "while c0 stalled ...").
    """
    results = transcript.expects_on(conn)
    last = results[-1] if results else None
    if last is not None and last.outcome == "ok" and last.frames:
        return Verdict.passed()
    record = transcript.conn(conn)
    request = record.sent
    how = unanswered(last, record.ending())
    kind = outcome_kind(last.outcome if last is not None else record.end)
    return Verdict.failed(f"{why}, c{conn}'s request {show(request, 80)} {how}", kind)


def _sent(scenario: Scenario, conn: int) -> bytes:
    return b"".join(s.data for s in scenario.steps if isinstance(s, Send) and s.conn == conn)


class StallIsolation(Property):
    """A client that stalls mid-request or stops reading does not delay other clients."""

    name: ClassVar[str] = "stall-isolation"
    summary: ClassVar[str] = "a stalled client does not delay another client's reply"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.stall_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        rcvbuf = next(
            (s.rcvbuf for s in scenario.steps if isinstance(s, Open) and s.conn == 0 and s.rcvbuf),
            None,
        )
        staller = transcript.conn(0)
        if rcvbuf:
            how = (
                f"while c0 stopped reading (receive buffer {rcvbuf:,} bytes) after writing "
                f"{len(staller.sent):,} bytes of requests"
            )
        else:
            prefix = _sent(scenario, 0)
            how = (
                f"while c0 stalled mid-request (it sent {count(len(prefix), 'byte')} "
                f"{show(prefix, 60)}, then nothing)"
            )
        return served(transcript, 1, how)

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """c1's request alone, with no staller."""
        return alone(scenario, 1)


class Reset(Property):
    """Clients aborting (RST) at any byte leave the server serving others.

    For a server wirefault started, the server must also close its end of each
    connection reset: one it keeps open while idle is a leaked descriptor (see
    :mod:`wirefault.release`), a failure of kind ``leak`` from the first reset on,
    long before the leak starves the server.
    """

    name: ClassVar[str] = "reset"
    summary: ClassVar[str] = (
        "clients that reset at any byte leave the server serving others, and their sockets closed"
    )

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.reset_scenarios(
            codec,
            backend=ctx.backend,
            deadline=ctx.deadline,
            probe=ctx.probe,
            samples=ctx.samples,
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        aborted = [s.conn for s in scenario.steps if isinstance(s, Abort)]
        sizes = ", ".join(str(len(_sent(scenario, c))) for c in aborted)
        last = scenario.connections()[-1]
        why = (
            f"after {count(len(aborted), 'client')} sent part of a request "
            f"({sizes} bytes) and reset (RST) the connection"
        )
        verdict = served(transcript, last, why)
        if not verdict.ok:
            return verdict
        return _closed_after_reset(transcript, aborted, why)

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """The last client's request alone, with no resets before it."""
        return alone(scenario, scenario.connections()[-1])


def _closed_after_reset(transcript: Transcript, aborted: list[int], why: str) -> Verdict:
    """Fail when the server kept open its end of a connection the client reset."""
    held = [c for c in aborted if transcript.conn(c).release in ("held", "held-early")]
    if not held:
        return Verdict.passed()
    after = max(transcript.conn(c).release_after for c in held)
    names = ", ".join(f"c{c}" for c in held)
    return Verdict.failed(
        f"{why}, the server still held its end of {names} open {after:.2f}s after the play, "
        "idle: a descriptor leaks with every connection reset this way, until none are left",
        "leak",
    )


class HalfCloseProperty(Property):
    """Replies to every complete request sent before SHUT_WR arrive before the close."""

    name: ClassVar[str] = "half-close"
    summary: ClassVar[str] = "replies to requests sent before a half-close arrive before the close"
    needs_framing: ClassVar[bool] = True

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.half_close_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        # Replies counted from the Expect steps, so a --greeting frame is not one.
        baseline = [f for r in transcript.expects_on(0) for f in r.frames]
        halved = [f for r in transcript.expects_on(1) for f in r.frames]
        if len(halved) >= len(baseline):
            return Verdict.passed()
        requests = codec.request_decoder().feed(transcript.conn(1).sent)
        closing = transcript.expects_on(1)
        ended = closing[-1].outcome if closing else transcript.conn(1).end
        if (
            ended in ("ok", "eof", "rst")  # ``ok``: the close the ExpectClose waited for
            and halved == baseline[: len(halved)]
            and closed_unanswered(transcript, codec, 0, len(baseline))
        ):
            # The server closed c0 too, at a request it did not answer, with no half-close:
            # it closes on these requests, and what c1 lacks was lost to that close.
            lost = len(baseline) - len(halved)
            return Verdict.passed(lost_at_close_note(lost, len(baseline), reset=ended == "rst"))
        kind: FailureKind = (
            "timeout" if ended == "timeout" else "reset" if ended == "rst" else "closed"
        )
        how = {
            "ok": "the server closed the connection",
            "eof": "the server closed the connection",
            "rst": "the server reset the connection",
            "timeout": "nothing more came until the deadline",
        }.get(ended, ended)
        missing = first_difference(baseline, halved)
        first = (
            f"; the first missing reply is #{missing + 1}: {show(baseline[missing])}"
            if missing is not None and missing < len(baseline)
            else ""
        )
        return Verdict.failed(
            f"{count(len(requests), 'complete request')} got {count(len(baseline), 'reply')} "
            f"on c0, but sent before a half-close (SHUT_WR) on c1 they got only "
            f"{len(halved)} before {how}{first}",
            kind,
        )
