"""Silence judged early through a fault proxy, by the server's own sockets (every backend).

The proxy holds data back on purpose, so its socket's silence says nothing; the
server's sockets do: a missing reply is certain once everything we sent reached
the server, everything it wrote reached us, and nothing moved for the settle
time (:mod:`wirefault.server_port`). What the proxy still holds (latency, a
trickle, a delayed close) must never be taken for silence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _conformance_support import EchoServer

from wirefault.codecs import get_codec
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.toxics import Bandwidth, Latency, SlowClose, Toxic
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Open, Scenario, Send
from wirefault.transcript import Transcript

RAW = get_codec("raw")
LINE = get_codec("line")
#: Long enough that an early judgement is unmistakable, short enough for a test.
DEADLINE = 3.0
#: Shorter than what the toxics below hold back (400 ms), so taking their hold for a
#: silence would show; long enough that an in-process server starved of the GIL on a
#: loaded machine is not taken for a silent one.
SETTLE = 0.2


pytestmark = pytest.mark.usefixtures("needs_sock_diag")


@pytest.fixture
def servers() -> Iterator[list[EchoServer]]:
    made: list[EchoServer] = []
    yield made
    for server in made:
        server.close()


def _play(
    backend: FaultLayer, server: EchoServer, request: bytes, toxic: Toxic, *, codec=LINE
) -> Transcript:
    scenario = Scenario(
        steps=(Send(conn=0, chunks=(request,)), Expect(conn=0), Close(conn=0)),
        toxics=(toxic,),
    )
    return _play_scenario(backend, server, scenario, codec=codec)


def _play_scenario(
    backend: FaultLayer, server: EchoServer, scenario: Scenario, *, codec=LINE
) -> Transcript:
    proxy: FaultProxy = backend.open_proxy(server.address)
    try:
        runner = Runner(
            server.address,
            codec,
            options=RunnerOptions(deadline=DEADLINE, settle=SETTLE),
            proxy=proxy,
        )
        return runner.play(scenario)
    finally:
        proxy.close()


def _direct_then_proxied(toxic: Toxic) -> Scenario:
    """c0 opens direct (past the proxy) and sends a line; then c1 does through the proxy."""
    return Scenario(
        steps=(
            Open(conn=0, direct=True),
            Send(conn=0, chunks=(b"direct\n",)),
            Expect(conn=0),
            Close(conn=0),
            Send(conn=1, chunks=(b"proxied\n",)),
            Expect(conn=1),
            Close(conn=1),
        ),
        toxics=(toxic,),
    )


def test_a_server_that_never_answers_is_judged_silent_early(
    backend: FaultLayer, servers: list[EchoServer]
) -> None:
    servers.append(server := EchoServer(echo=False))
    transcript = _play(backend, server, b"ping\n", Latency(latency=50, stream="upstream"))
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < DEADLINE / 2  # judged early, not after the deadline
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "behind the fault proxy" in silent.detail
    assert server.connection().data == b"ping\n"


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_a_reply_held_by_latency_is_waited_for(
    backend: FaultLayer, servers: list[EchoServer], stream: str
) -> None:
    servers.append(server := EchoServer())
    toxic = Latency(latency=400, stream=stream)  # type: ignore[arg-type]
    transcript = _play(backend, server, b"ping\n", toxic)
    (result,) = transcript.expects
    assert result.outcome == "ok"
    assert transcript.conn(0).frames == [b"ping"]
    assert result.elapsed >= 0.35


def test_a_reply_trickling_through_a_narrow_link_is_waited_for(
    backend: FaultLayer, servers: list[EchoServer]
) -> None:
    servers.append(server := EchoServer())
    line = b"x" * 12_000 + b"\n"  # 12 KB at 20 KB/s: about 0.6 s on the way back
    transcript = _play(backend, server, line, Bandwidth(rate=20))
    (result,) = transcript.expects
    assert result.outcome == "ok"
    assert transcript.conn(0).frames == [line[:-1]]


def test_a_close_held_by_the_proxy_is_waited_for(
    backend: FaultLayer, servers: list[EchoServer]
) -> None:
    servers.append(server := EchoServer(hang_up=True))
    transcript = _play(backend, server, b"ping\n", SlowClose(delay=400))
    (result,) = transcript.expects
    assert result.outcome == "eof"  # the server's close, not a silence judged early
    assert result.elapsed >= 0.35


def test_a_connection_opened_direct_goes_past_the_proxy_and_its_toxics(
    backend: FaultLayer, servers: list[EchoServer]
) -> None:
    servers.append(server := EchoServer())
    scenario = _direct_then_proxied(Latency(latency=400, stream="upstream"))
    transcript = _play_scenario(backend, server, scenario)
    direct, proxied = transcript.expects
    assert (direct.outcome, proxied.outcome) == ("ok", "ok")
    assert transcript.conn(0).frames == [b"direct"]
    assert transcript.conn(1).frames == [b"proxied"]
    assert proxied.elapsed >= 0.35  # held by the toxic
    assert direct.elapsed < proxied.elapsed / 2  # not held: it never went through the proxy


def test_a_silence_behind_the_proxy_is_judged_early_after_a_direct_connection(
    backend: FaultLayer, servers: list[EchoServer]
) -> None:
    # The direct connection's bytes never pass the proxy: counted on one side of the
    # balance but not the other, they would keep the proxied silence from ever being
    # certain, and every read of c1 would wait its deadline out.
    servers.append(server := EchoServer(echo=False))
    transcript = _play_scenario(
        backend, server, _direct_then_proxied(Latency(latency=50, stream="upstream"))
    )
    direct, proxied = transcript.expects
    assert (direct.outcome, proxied.outcome) == ("timeout", "timeout")
    assert direct.elapsed < DEADLINE / 2
    assert proxied.elapsed < DEADLINE / 2
    silent = [e.detail for e in transcript.events if e.what == "silent"]
    assert len(silent) == 2
    assert "behind the fault proxy" not in silent[0]
    assert "behind the fault proxy" in silent[1]
