"""Liveness: a fresh client gets a valid answer to the probe request.

Run as a property of its own, and after every example of every other
property, so a server that dies or wedges is caught right after the scenario
that did it.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.properties.base import Property, PropertyContext, Verdict, unanswered
from wirefault.properties.render import outcome_kind
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.transcript import Transcript

__all__ = ["Liveness", "probe_scenario"]


def probe_scenario(probe: bytes) -> Scenario:
    """One fresh connection: send ``probe``, expect one response, close."""
    return Scenario(steps=(Send(conn=0, chunks=(probe,)), Expect(conn=0, count=1), Close(conn=0)))


class Liveness(Property):
    """A fresh probe connection gets a valid answer."""

    name: ClassVar[str] = "liveness"
    summary: ClassVar[str] = (
        "a fresh client's probe gets a valid answer (checked after every example)"
    )
    transports: ClassVar[frozenset[str]] = frozenset({"stream", "datagram"})

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return st.just(probe_scenario(ctx.probe if ctx.probe is not None else codec.probe()))

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        results = transcript.expects_on(0)
        if results and results[0].outcome == "ok" and results[0].frames:
            return Verdict.passed()
        record = transcript.conn(0)
        outcome = results[0].outcome if results else record.end
        if record.unaccepted:
            why, outcome = "it " + unanswered(None, record.ending()), "timeout"
        elif record.end == "refused":
            why, outcome = "the connection was refused", "refused"
        elif record.garbage:
            why, outcome = f"the answer was not a valid frame ({record.garbage})", "garbage"
        else:
            result = results[0] if results else None
            why = "it " + unanswered(result, record.ending())
        return Verdict.failed(f"a fresh client's probe failed: {why}", outcome_kind(outcome))
