"""UDP properties: replies to every datagram, survival of edge sizes and faults.

UDP may lose datagrams even on loopback, so the runner re-sends a datagram
whose reply is missing (a bounded number of times) before a property counts
it as unanswered: a correct server is never flagged for the network's loss.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis.strategies import SearchStrategy

import wirefault.strategies.scenarios as built
from wirefault.codecs.base import Codec
from wirefault.properties.base import Property, PropertyContext, Verdict
from wirefault.scenario import Scenario, Send
from wirefault.transcript import Transcript

__all__ = ["DatagramFaults", "DatagramReply", "DatagramSizes"]

_UDP = frozenset({"datagram"})


def _probe_answered(scenario: Scenario, transcript: Transcript, why: str) -> Verdict:
    last = scenario.connections()[-1]
    results = transcript.expects_on(last)
    if results and results[-1].outcome == "ok":
        return Verdict.passed()
    outcome = results[-1].outcome if results else transcript.conn(last).end
    return Verdict.failed(f"{why}, a fresh client's probe got no reply ({outcome})")


class DatagramReply(Property):
    """Every datagram gets its reply, from one client or several interleaved."""

    name: ClassVar[str] = "datagram-reply"
    summary: ClassVar[str] = "every datagram gets a reply, whichever client sent it"
    transports: ClassVar[frozenset[str]] = _UDP

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.datagram_reply_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        for result in transcript.expects:
            if result.outcome != "ok":
                return Verdict.failed(
                    f"datagram-reply: a datagram from client c{result.conn} (step {result.step}) "
                    f"got no reply after retries ({result.outcome})"
                )
        return Verdict.passed()


class DatagramSizes(Property):
    """Empty, tiny and maximum-size datagrams never kill the server."""

    name: ClassVar[str] = "datagram-sizes"
    summary: ClassVar[str] = "empty, 1-byte and 65507-byte datagrams do not kill the server"
    transports: ClassVar[frozenset[str]] = _UDP

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.datagram_size_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, probe=ctx.probe
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        last = scenario.connections()[-1]
        sizes = [
            len(c)
            for s in scenario.steps
            if isinstance(s, Send) and s.conn != last
            for c in s.chunks
        ]
        return _probe_answered(
            scenario, transcript, f"datagram-sizes: after datagrams of {sizes} bytes"
        )


class DatagramFaults(Property):
    """Duplicated, reordered and delayed datagrams are survived."""

    name: ClassVar[str] = "datagram-faults"
    summary: ClassVar[str] = "duplicated, reordered and delayed datagrams are survived"
    transports: ClassVar[frozenset[str]] = _UDP

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.datagram_fault_scenarios(
            codec,
            backend=ctx.backend,
            deadline=ctx.deadline,
            probe=ctx.probe,
            samples=ctx.samples,
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        faults = ", ".join(t.type for t in scenario.toxics) or "no faults"
        return _probe_answered(scenario, transcript, f"datagram-faults: after {faults}")
