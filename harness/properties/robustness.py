"""Properties about surviving hostile clients: garbage, stalls, resets, half-closes.

Each checks the abused connection behaved sanely *and* that another client is
still served afterwards, within the runner's deadline.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis.strategies import SearchStrategy

import wirefault.strategies.scenarios as built
from wirefault.codecs.base import Codec
from wirefault.properties.base import Property, PropertyContext, Verdict, short
from wirefault.scenario import Abort, HalfClose, Open, Scenario
from wirefault.transcript import Transcript

__all__ = ["HalfCloseProperty", "Malformed", "Reset", "StallIsolation"]


def _served(transcript: Transcript, conn: int, why: str) -> Verdict:
    """Pass when connection ``conn``'s last Expect got its answer."""
    results = transcript.expects_on(conn)
    if results and results[-1].outcome == "ok" and results[-1].frames:
        return Verdict.passed()
    outcome = results[-1].outcome if results else transcript.conn(conn).end
    return Verdict.failed(f"{why}, another client (c{conn}) was not served: {outcome}")


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
        bad = transcript.expects_on(0)
        if bad and bad[-1].outcome == "timeout" and not bad[-1].frames:
            half = any(isinstance(s, HalfClose) for s in scenario.steps)
            after = " and a half-close" if half else ""
            return Verdict.failed(
                f"malformed: after a malformed frame{after} the server neither replied nor "
                f"closed within {bad[-1].elapsed:.1f}s (it hangs)"
            )
        others = [c for c in scenario.connections() if c != 0]
        if not others:
            return Verdict.passed()
        return _served(transcript, others[-1], "after a malformed frame on c0")


class StallIsolation(Property):
    """A client that stalls mid-request or stops reading does not delay other clients."""

    name: ClassVar[str] = "stall-isolation"
    summary: ClassVar[str] = "a stalled client does not delay another client's reply"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.stall_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        no_read = any(isinstance(s, Open) and s.conn == 0 and s.rcvbuf for s in scenario.steps)
        how = "stopped reading" if no_read else "stalled mid-request"
        return _served(transcript, 1, f"stall-isolation: while c0 {how}")


class Reset(Property):
    """Clients aborting (RST) at any byte leave the server serving others."""

    name: ClassVar[str] = "reset"
    summary: ClassVar[str] = "clients that reset at any byte leave the server serving others"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.reset_scenarios(
            codec,
            backend=ctx.backend,
            deadline=ctx.deadline,
            probe=ctx.probe,
            samples=ctx.samples,
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        aborted = sum(1 for s in scenario.steps if isinstance(s, Abort))
        last = scenario.connections()[-1]
        return _served(transcript, last, f"reset: after {aborted} client(s) reset their connection")


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
        return Verdict.failed(
            f"half-close: {len(requests)} complete request(s) got {len(baseline)} "
            f"repl{'y' if len(baseline) == 1 else 'ies'}, but sent before a SHUT_WR only "
            f"{len(halved)} {short(halved)} came before the connection ended ({ended})"
        )
