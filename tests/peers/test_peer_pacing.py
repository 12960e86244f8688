"""Pacing by the server's reads, and silence judged early, against real redis-server and nginx.

Silence is judged through a real toxiproxy-server too, by redis's own sockets,
and sooner when redis's process shows it waiting (no CPU, no thread running).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from peers_support import (
    need_binary,
    nginx_command,
    nginx_pid,
    redis_command,
    redis_pid,
    running,
)

from wirefault.addresses import Address
from wirefault.codecs.http import HttpCodec
from wirefault.codecs.resp import RespCodec
from wirefault.faults.toxics import Latency, Slicer, Toxic
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer
from wirefault.faults.toxiproxy_server import find_server_binary
from wirefault.properties import get_property
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, ExpectClose, HalfClose, Open, Scenario, Send
from wirefault.server_activity import ServerActivity
from wirefault.stage import CRASH_IDLE
from wirefault.strategies.chunking import byte_at_a_time
from wirefault.target import ServerProcess
from wirefault.transcript import Transcript

CODEC = RespCodec()


pytestmark = pytest.mark.usefixtures("needs_sock_diag")


def test_redis_reads_every_byte_of_a_command_on_its_own(redis: Address) -> None:
    ping = b"*1\r\n$4\r\nPING\r\n"
    scenario = Scenario(
        steps=(Send(conn=0, chunks=byte_at_a_time(ping)), Expect(conn=0), Close(conn=0))
    )
    transcript = Runner(redis, CODEC).play(scenario)
    assert transcript.conn(0).frames == [b"+PONG\r\n"]
    # Every cut was read by redis before the next byte went out: 13 separate reads.
    assert transcript.conn(0).cuts == ["read"] * (len(ping) - 1)


def test_redis_gets_the_half_close_after_reading_the_request(redis: Address) -> None:
    ping = b"*1\r\n$4\r\nPING\r\n"
    steps = (Send(conn=0, chunks=(ping[:5], ping[5:])), HalfClose(conn=0), ExpectClose(conn=0))
    transcript = Runner(redis, CODEC).play(Scenario(steps=steps))
    (half,) = [e for e in transcript.events if e.what == "half_close"]
    assert half.detail.startswith(f"after the server read all {len(ping)}B")
    assert transcript.conn(0).frames == [b"+PONG\r\n"]


def test_redis_waiting_on_a_nul_line_is_judged_silent_early(redis: Address) -> None:
    # docs/REAL_SERVERS.md: a NUL byte in a header line leaves redis waiting for more.
    steps = (Send(conn=0, chunks=(b"*1\r\n\x00ak\r\n",)), Expect(conn=0), Close(conn=0))
    options = RunnerOptions(deadline=5.0, settle=0.05)
    transcript = Runner(redis, CODEC, options=options).play(Scenario(steps=steps))
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < 2.5  # not the 5 s deadline
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "read everything we sent" in silent.detail


def _quietly(redis: Address, request: bytes, settle: float) -> Transcript:
    """``request`` played with redis's process to look at, for a silence of 2 ms."""
    options = RunnerOptions(
        deadline=5.0,
        settle=settle,
        activity=ServerActivity(redis_pid(redis)),
        quiet_settle=0.002,
    )
    steps = (Send(conn=0, chunks=(request,)), Expect(conn=0), Close(conn=0))
    return Runner(redis, CODEC, options=options).play(Scenario(steps=steps))


def test_redis_waiting_on_a_nul_line_is_judged_silent_sooner_by_its_process(
    redis: Address,
) -> None:
    transcript = _quietly(redis, b"*1\r\n\x00ak\r\n", settle=1.0)
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < 0.5  # not the 1 s learnt settle time
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "its processes used no CPU" in silent.detail


def test_redis_computing_a_script_is_waited_for_though_its_sockets_are_silent(
    redis: Address,
) -> None:
    # A Lua loop of some 0.2 s: redis has read the command and writes nothing until
    # it ends; only its CPU time says it is working.
    script = b"local i = 0 while i < 20000000 do i = i + 1 end return i"
    request = b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(script), script)
    for settle in (4.0, 0.02):
        # 20 ms: its sockets are silent for longer than the settle time, but a thread of
        # redis is running all through.
        transcript = _quietly(redis, request, settle=settle)
        assert transcript.expects[0].outcome == "ok", settle
        assert transcript.conn(0).frames == [b":20000000\r\n"]
    # Without its process to look at, the same 2 ms of silence would be taken for certain.
    options = RunnerOptions(deadline=5.0, settle=0.002)
    steps = (Send(conn=0, chunks=(request,)), Expect(conn=0), Close(conn=0))
    blind = Runner(redis, CODEC, options=options).play(Scenario(steps=steps))
    assert blind.expects[0].outcome == "timeout"


@pytest.fixture(scope="module")
def toxiproxy() -> Iterator[ToxiproxyFaultLayer]:
    """A real toxiproxy-server for this module; stopped afterwards."""
    binary = find_server_binary()
    if binary is None:
        need_binary("toxiproxy-server", "toxiproxy (go install github.com/Shopify/toxiproxy)")
    with ToxiproxyFaultLayer.start(binary) as layer:
        yield layer


def _through(
    layer: ToxiproxyFaultLayer, redis: Address, request: bytes, toxic: Toxic
) -> Transcript:
    proxy = layer.open_proxy(redis)
    try:
        options = RunnerOptions(deadline=5.0, settle=0.2)
        steps = (Send(conn=0, chunks=(request,)), Expect(conn=0), Close(conn=0))
        scenario = Scenario(steps=steps, toxics=(toxic,))
        return Runner(redis, CODEC, options=options, proxy=proxy).play(scenario)
    finally:
        proxy.close()


def test_redis_waiting_behind_toxiproxy_is_judged_silent_early(
    redis: Address, toxiproxy: ToxiproxyFaultLayer
) -> None:
    # The NUL line again, through Toxiproxy's latency: redis's own sockets say it read
    # everything and wrote nothing, whatever Toxiproxy's socket shows.
    transcript = _through(toxiproxy, redis, b"*1\r\n\x00ak\r\n", Latency(latency=100))
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < 2.5  # not the 5 s deadline
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "behind the fault proxy" in silent.detail


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_a_redis_reply_toxiproxy_holds_back_is_waited_for(
    redis: Address, toxiproxy: ToxiproxyFaultLayer, stream: str
) -> None:
    toxic = Latency(latency=600, stream=stream)  # type: ignore[arg-type]
    transcript = _through(toxiproxy, redis, b"*1\r\n$4\r\nPING\r\n", toxic)
    (result,) = transcript.expects
    assert result.outcome == "ok"
    assert transcript.conn(0).frames == [b"+PONG\r\n"]
    assert result.elapsed >= 0.55


def _baseline_direct(layer: ToxiproxyFaultLayer, redis: Address, scenario: Scenario) -> Transcript:
    proxy = layer.open_proxy(redis)
    try:
        options = RunnerOptions(deadline=5.0, settle=0.2)
        return Runner(redis, CODEC, options=options, proxy=proxy).play(scenario)
    finally:
        proxy.close()


def test_reassemblys_baseline_reaches_redis_whole_past_toxiproxy(
    redis: Address, toxiproxy: ToxiproxyFaultLayer
) -> None:
    # The shape reassembly draws under toxics: c0 opens direct (past the proxy), c1 goes
    # through Toxiproxy's slicer and latency.
    pings = b"*1\r\n$4\r\nPING\r\n" * 2
    steps = (
        Open(conn=0, direct=True),
        Send(conn=0, chunks=(pings,)),
        Expect(conn=0, count=2),
        Close(conn=0),
        Send(conn=1, chunks=(pings[:9], pings[9:])),
        Expect(conn=1, count=2),
        Close(conn=1),
    )
    toxics = (
        Latency(latency=150, stream="upstream"),
        Slicer(average_size=4, size_variation=1, delay=500, stream="upstream"),
    )
    scenario = Scenario(steps=steps, toxics=toxics)
    transcript = _baseline_direct(toxiproxy, redis, scenario)
    direct, proxied = transcript.expects
    assert transcript.conn(0).frames == transcript.conn(1).frames == [b"+PONG\r\n"] * 2
    assert proxied.elapsed >= 0.14  # held by the latency toxic
    assert direct.elapsed < proxied.elapsed / 2  # never through the proxy
    assert get_property("reassembly").judge(scenario, transcript, CODEC).ok


def test_redis_silent_behind_toxiproxy_after_a_direct_connection_is_judged_early(
    redis: Address, toxiproxy: ToxiproxyFaultLayer
) -> None:
    # The direct connection's bytes never pass the proxy: they must not unbalance what
    # redis's sockets received against what went through it.
    nul = b"*1\r\n\x00ak\r\n"
    steps = (
        Open(conn=0, direct=True),
        Send(conn=0, chunks=(nul,)),
        Expect(conn=0),
        Close(conn=0),
        Send(conn=1, chunks=(nul,)),
        Expect(conn=1),
        Close(conn=1),
    )
    scenario = Scenario(steps=steps, toxics=(Latency(latency=100, stream="upstream"),))
    transcript = _baseline_direct(toxiproxy, redis, scenario)
    assert [r.outcome for r in transcript.expects] == ["timeout", "timeout"]
    assert all(r.elapsed < 2.5 for r in transcript.expects)  # not the 5 s deadline
    silent = [e.detail for e in transcript.events if e.what == "silent"]
    assert "behind the fault proxy" in silent[1]


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Address]:
    """nginx with a minimal configuration in a temporary prefix; stopped afterwards."""
    binary = need_binary("nginx", "nginx")
    workdir = tmp_path_factory.mktemp("nginx")
    command, address = nginx_command(binary, workdir)
    with running(command, address, lambda _: nginx_pid(workdir)) as started:
        yield started


def test_nginx_answers_every_pipelined_request_before_a_half_close_every_time(
    nginx: Address,
) -> None:
    # issue #12.3: a half-close verdict that depends on whether the last chunk and the
    # EOF reach the server together. Sent only once nginx read every byte, it cannot.
    http = HttpCodec()
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    wire = request * 3
    chunks = (wire[:10], wire[10 : len(request) + 5], wire[len(request) + 5 :])
    steps = (
        Send(conn=0, chunks=(wire,)),
        Expect(conn=0, count=3),
        Close(conn=0),
        Send(conn=1, chunks=chunks),
        HalfClose(conn=1),
        ExpectClose(conn=1),
    )
    scenario = Scenario(steps=steps)
    prop = get_property("half-close")
    for _ in range(5):
        transcript = Runner(nginx, http).play(scenario)
        assert prop.judge(scenario, transcript, http).ok
        assert len(transcript.conn(1).frames) == 3
        assert transcript.conn(1).cuts == ["read", "read"]


def test_a_paused_redis_is_not_waited_a_whole_deadline_for_a_crash(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # CLIENT PAUSE: redis answers no one for 3 s, alive and idle in its event loop. After
    # a failure whose probe went unanswered, the wait for a crash ends once its process
    # has looked idle, not after the deadline.
    binary = need_binary("redis-server", "redis-server")
    command = redis_command(binary, tmp_path_factory.mktemp("redis-paused"))
    with ServerProcess(command, Address("tcp", "127.0.0.1", 0)) as server:
        address = server.address.sockaddr()
        assert isinstance(address, tuple)
        with socket.create_connection(address, timeout=5) as pauser:
            pauser.sendall(b"*4\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$4\r\n3000\r\n$3\r\nALL\r\n")
            assert pauser.recv(100) == b"+OK\r\n"
        steps = (Send(conn=0, chunks=(b"*1\r\n$4\r\nPING\r\n",)), Expect(conn=0), Close(conn=0))
        options = RunnerOptions(deadline=0.3)
        probe = Runner(server.address, CODEC, options=options).play(Scenario(steps=steps))
        assert probe.expects[0].outcome == "timeout"  # paused: no answer
        began = time.monotonic()
        assert server.wait_crash_unless_idle(10.0, CRASH_IDLE) is None
        assert time.monotonic() - began < 2.5  # idle at once, not the 10 s it could wait
        assert server.alive()
