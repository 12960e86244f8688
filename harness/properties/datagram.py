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
from wirefault.properties.base import Property, PropertyContext, Verdict, alone
from wirefault.properties.render import outcome_kind, show
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.transcript import Transcript

__all__ = ["DatagramFaults", "DatagramReply", "DatagramSizes"]

_UDP = frozenset({"datagram"})


def _probe_answered(scenario: Scenario, transcript: Transcript, why: str) -> Verdict:
    last = scenario.connections()[-1]
    results = transcript.expects_on(last)
    if results and results[-1].outcome == "ok":
        return Verdict.passed()
    outcome = results[-1].outcome if results else transcript.conn(last).end
    return Verdict.failed(
        f"{why}, a fresh client's probe got no reply after re-sends ({outcome})",
        outcome_kind(outcome),
    )


def _probe_alone(scenario: Scenario) -> Scenario:
    return alone(scenario, scenario.connections()[-1])


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
                sent = _datagram_before(scenario, result.step)
                return Verdict.failed(
                    f"the datagram {show(sent, 80)} from client c{result.conn} (step "
                    f"{result.step}) got no reply after re-sends ({result.outcome})",
                    outcome_kind(result.outcome),
                )
        return Verdict.passed()

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """The first unanswered datagram alone, from a fresh client."""
        failed = next((r for r in transcript.expects if r.outcome != "ok"), None)
        if failed is None:
            return None
        sent = _datagram_before(scenario, failed.step)
        steps = (Send(conn=0, chunks=(sent,)), Expect(conn=0, count=1), Close(conn=0))
        return Scenario(steps=steps, meta=(("baseline", f"c{failed.conn}"),))


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
        return _probe_answered(scenario, transcript, f"after datagrams of {sizes} bytes")

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """The probe alone."""
        return _probe_alone(scenario)


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
        return _probe_answered(scenario, transcript, f"after datagrams through {faults}")

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """The probe alone, with no fault."""
        return _probe_alone(scenario)


def _datagram_before(scenario: Scenario, step: int) -> bytes:
    """The datagram the Expect at ``step`` waited a reply to: its client's last one before it."""
    expect = scenario.steps[step]
    conn = getattr(expect, "conn", None)
    for earlier in reversed(scenario.steps[:step]):
        if isinstance(earlier, Send) and earlier.conn == conn and earlier.chunks:
            return earlier.chunks[-1]
    return b""
