"""One suite, every fault backend: each Toxiproxy toxic judged by what it does on the wire.

Every test runs against the embedded proxy and the real Toxiproxy (see
conftest.py). Timing bounds are generous: a delay must be at least (about) what
was asked for and well under several times it. Where the embedded proxy differs
from Toxiproxy on purpose, the test says so.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from _api_support import ProxyServer
from _conformance_support import (
    EchoServer,
    connect,
    eventually,
    need_toxiproxy,
    open_fds,
    pid_alive,
    read_to_end,
    recv_exactly,
    round_trip,
)

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.errors import FaultLayerError
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import (
    Bandwidth,
    Corrupt,
    Down,
    Latency,
    LimitData,
    Noop,
    ResetPeer,
    Slicer,
    SlowClose,
    Split,
    Timeout,
)
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import AddToxic, Expect, RemoveToxic, Scenario, Send

PAYLOAD = bytes(range(256)) * 256  # 64 KiB, every byte value


# -- plain forwarding ----------------------------------------------------------------------


def test_forwards_bytes_unchanged(proxy: FaultProxy) -> None:
    echoed, _ = round_trip(proxy.listen, PAYLOAD)
    assert echoed == PAYLOAD


def test_listen_defaults_to_loopback_with_a_real_port(proxy: FaultProxy, echo: EchoServer) -> None:
    assert proxy.listen.transport == "tcp"
    assert proxy.listen.host == "127.0.0.1"
    assert proxy.listen.port > 0
    assert proxy.upstream == echo.address


# -- Toxiproxy's toxics, by their effect -------------------------------------------------


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_latency_adds_at_least_the_delay(proxy: FaultProxy, stream: str) -> None:
    proxy.add_toxic(Latency(latency=200, stream=stream))  # type: ignore[arg-type]
    echoed, seconds = round_trip(proxy.listen, b"ping")
    assert echoed == b"ping"
    assert 0.18 <= seconds < 2.0


def test_bandwidth_paces_within_tolerance(proxy: FaultProxy) -> None:
    proxy.add_toxic(Bandwidth(rate=100))  # 100 KB/s: 100 000 bytes take about 1 s
    payload = bytes(100_000)
    echoed, seconds = round_trip(proxy.listen, payload)
    assert echoed == payload
    assert 0.7 <= seconds < 4.0


def test_timeout_zero_swallows_data_and_keeps_the_connection(proxy: FaultProxy) -> None:
    proxy.add_toxic(Timeout(timeout=0))
    with connect(proxy.listen, timeout=0.5) as sock:
        sock.sendall(b"hello")
        with pytest.raises(TimeoutError):
            sock.recv(16)  # nothing comes back, and the connection is not closed


def test_timeout_closes_after_the_timeout(proxy: FaultProxy) -> None:
    proxy.add_toxic(Timeout(timeout=300))
    with connect(proxy.listen) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        data, _end = read_to_end(sock)
        seconds = time.monotonic() - start
    assert data == b""
    assert 0.25 <= seconds < 3.0


def test_removing_a_timeout_closes_the_connections_it_held(
    proxy: FaultProxy, echo: EchoServer
) -> None:
    # Toxiproxy closes them (NOTES.md); the embedded proxy does the same on purpose.
    proxy.add_toxic(Timeout(timeout=0))
    with connect(proxy.listen) as sock:
        sock.sendall(b"hello")
        # Once the server has it, the echo is on its way into the toxic.
        assert eventually(lambda: echo.connection(0).data == b"hello")
        proxy.remove_toxic("timeout_downstream")
        data, _end = read_to_end(sock)
    assert data == b""


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_reset_peer_gives_econnreset(proxy: FaultProxy, stream: str) -> None:
    proxy.add_toxic(ResetPeer(timeout=100, stream=stream))  # type: ignore[arg-type]
    with connect(proxy.listen) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        _data, end = read_to_end(sock)
        seconds = time.monotonic() - start
    assert end == "reset"
    assert 0.08 <= seconds < 3.0


def test_limit_data_delivers_exactly_n_bytes_then_closes(proxy: FaultProxy) -> None:
    proxy.add_toxic(LimitData(bytes=10))
    with connect(proxy.listen) as sock:
        sock.sendall(PAYLOAD[:100])
        data, end = read_to_end(sock)
    assert data == PAYLOAD[:10]
    assert end == "eof"


def test_limit_data_upstream_limits_what_the_server_gets(
    proxy: FaultProxy, echo: EchoServer
) -> None:
    proxy.add_toxic(LimitData(bytes=10, stream="upstream"))
    with connect(proxy.listen) as sock:
        sock.sendall(PAYLOAD[:100])
        read_to_end(sock)
    conn = echo.connection(0)
    assert conn.done.wait(5.0)
    assert conn.data == PAYLOAD[:10]


def test_slicer_splits_into_several_recvs(proxy: FaultProxy, echo: EchoServer) -> None:
    proxy.add_toxic(Slicer(average_size=10, size_variation=0, delay=10_000, stream="upstream"))
    with connect(proxy.listen) as sock:
        sock.sendall(PAYLOAD[:100])
        assert recv_exactly(sock, 100) == PAYLOAD[:100]
    conn = echo.connection(0)
    assert conn.data == PAYLOAD[:100]
    assert len(conn.sizes) >= 5, conn.sizes
    assert max(conn.sizes) <= 20, conn.sizes


def test_seeded_slicer_repeats_on_embedded_and_is_refused_by_toxiproxy(
    backend: FaultLayer, proxy: FaultProxy, echo: EchoServer
) -> None:
    toxic = Slicer(average_size=8, size_variation=6, delay=20_000, stream="upstream", seed=7)
    if backend.backend == "toxiproxy":
        # Deliberate difference: Toxiproxy's slicer draws from Go's global, unseeded
        # math/rand (issue #274), so a seed cannot be honoured and is refused.
        assert not backend.supports(toxic)
        with pytest.raises(FaultLayerError, match="use --backend embedded"):
            proxy.add_toxic(toxic)
        return
    # The embedded slicer draws from (seed, connection index): the first connection
    # through a fresh proxy is sliced the same way every time.
    proxy.close()
    for _ in range(2):
        fresh = backend.open_proxy(echo.address)
        try:
            fresh.add_toxic(toxic)
            with connect(fresh.listen) as sock:
                sock.sendall(PAYLOAD[:100])
                assert recv_exactly(sock, 100) == PAYLOAD[:100]
        finally:
            fresh.close()
    first, second = echo.connection(0), echo.connection(1)
    # The server's reads show the slices, except that a read taken late holds two of
    # them (seen in CI under load: [10, 10, ...] and [20, ...]). So compare where the
    # slices end: with one slicing nearly every end is shared, while two independent
    # slicings of 100 bytes into ~12 pieces share one or two.
    ends_first, ends_second = _ends(first.sizes), _ends(second.sizes)
    assert len(ends_first) >= 5, first.sizes
    shared = ends_first & ends_second
    assert len(shared) >= 0.75 * min(len(ends_first), len(ends_second)), (
        first.sizes,
        second.sizes,
    )


def _ends(sizes: list[int]) -> set[int]:
    """Where each read ended, as offsets in the stream (the last one, the end, left out)."""
    ends, at = set(), 0
    for size in sizes[:-1]:
        at += size
        ends.add(at)
    return ends


def test_slow_close_delays_eof(proxy: FaultProxy) -> None:
    proxy.add_toxic(SlowClose(delay=300))
    with connect(proxy.listen) as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"  # data is not delayed
        start = time.monotonic()
        sock.shutdown(socket.SHUT_WR)
        data, end = read_to_end(sock)
        seconds = time.monotonic() - start
    assert (data, end) == (b"", "eof")
    assert 0.25 <= seconds < 3.0


# -- where the real Toxiproxy differs from its README (docs/CLI.md) -----------------------


def test_bandwidth_rate_zero_stalls_the_stream_until_removed(
    proxy: FaultProxy, echo: EchoServer
) -> None:
    # The README reads "limit to rate KB/s"; with rate=0, Toxiproxy 2.12 passes nothing
    # (its loop sends empty pieces forever), not even the EOF, until the toxic goes.
    proxy.add_toxic(Bandwidth(rate=0))
    with connect(proxy.listen) as sock:
        sock.sendall(b"stalled")
        assert eventually(lambda: echo.connection(0).data == b"stalled")
        readable, _, _ = select.select([sock], [], [], 0.3)
        assert not readable  # the echo is held (an absence: a short wait is all it can take)
        proxy.remove_toxic("bandwidth_downstream")
        assert recv_exactly(sock, 7) == b"stalled"


def test_slicer_halves_pieces_until_they_are_no_larger_than_average_size(
    proxy: FaultProxy, echo: EchoServer
) -> None:
    # The README calls average_size "the size of an average packet"; Toxiproxy halves
    # each chunk while a piece is over it, so 200 bytes at average_size=10 become 32
    # pieces of 6 or 7 bytes, not 20 of about 10.
    proxy.add_toxic(Slicer(average_size=10, size_variation=0, delay=20_000, stream="upstream"))
    with connect(proxy.listen) as sock:
        sock.sendall(PAYLOAD[:200])
        assert recv_exactly(sock, 200) == PAYLOAD[:200]
    sizes = echo.connection(0).sizes
    assert len(sizes) > 20, sizes  # more pieces than 200 / average_size
    assert min(sizes) <= 7, sizes  # a late read may join two pieces, never split one


@pytest.mark.slow  # two seconds a backend; what it checks does not depend on the Python
def test_timeout_is_an_idle_timeout_that_every_chunk_restarts(proxy: FaultProxy) -> None:
    # The README: "closes the connection after timeout". Toxiproxy restarts the clock
    # on every chunk, so a connection that keeps sending more often than that stays open.
    proxy.add_toxic(Timeout(timeout=800))
    with connect(proxy.listen) as sock:
        start = time.monotonic()
        for _ in range(10):  # 1 s of traffic, a chunk every 0.1 s: longer than the timeout
            sock.sendall(b"tick")
            time.sleep(0.1)  # the pace of the traffic under test, not a synchronisation
        readable, _, _ = select.select([sock], [], [], 0)
        assert not readable, "closed while data kept coming"
        last = time.monotonic()
        data, _end = read_to_end(sock)
        idle = time.monotonic() - last
    assert data == b""
    assert last - start >= 1.0
    assert 0.5 <= idle < 5.0


def test_toxicity_zero_never_applies(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=1000, toxicity=0.0))
    for _ in range(5):
        echoed, seconds = round_trip(proxy.listen, b"ping")
        assert echoed == b"ping"
        assert seconds < 0.5


# -- toxic bookkeeping ---------------------------------------------------------------------


def test_toxics_are_listed_in_the_order_added(proxy: FaultProxy) -> None:
    added = [
        Latency(latency=1),
        Bandwidth(rate=10_000, stream="upstream"),
        SlowClose(delay=1, name="gentle"),
    ]
    for toxic in added:
        proxy.add_toxic(toxic)
    assert proxy.toxics() == added
    proxy.remove_toxic("bandwidth_upstream")
    assert [t.key for t in proxy.toxics()] == ["latency_downstream", "gentle"]


def test_a_toxic_name_in_use_is_refused(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=1))
    with pytest.raises(FaultLayerError, match="latency_downstream"):
        proxy.add_toxic(Latency(latency=2))


def test_removing_an_unknown_toxic_is_refused(proxy: FaultProxy) -> None:
    with pytest.raises(FaultLayerError, match="nope"):
        proxy.remove_toxic("nope")


def test_removing_toxics_restores_clean_forwarding(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=300))
    proxy.add_toxic(Slicer(average_size=1, delay=1000, stream="upstream"))
    proxy.clear_toxics()
    assert proxy.toxics() == []
    echoed, seconds = round_trip(proxy.listen, PAYLOAD)
    assert echoed == PAYLOAD
    assert seconds < 0.5


def test_embedded_only_toxics_are_refused_by_toxiproxy(backend: FaultLayer) -> None:
    extras = [Split(offsets=(1,)), Corrupt(offsets=(0,)), Latency(latency=1, connection=0)]
    if backend.backend == "toxiproxy":
        # Deliberate difference: exact splits, corruption and per-connection aim are
        # wirefault's additions; Toxiproxy has none of them.
        assert not any(backend.supports(t) for t in extras)
    else:
        assert all(backend.supports(t) for t in extras)
    assert backend.supports(Latency(latency=1))


def test_udp_is_embedded_only(backend: FaultLayer) -> None:
    upstream = Address("udp", "127.0.0.1", 9)
    if backend.backend == "toxiproxy":
        with pytest.raises(FaultLayerError, match="TCP"):
            backend.open_proxy(upstream)
        return
    opened = backend.open_proxy(upstream)
    try:
        assert opened.listen.transport == "udp"
    finally:
        opened.close()


# -- disable / enable ---------------------------------------------------------------------


def test_disabled_proxy_refuses_connections_and_enable_recovers(proxy: FaultProxy) -> None:
    with connect(proxy.listen) as live:
        live.sendall(b"x")
        assert recv_exactly(live, 1) == b"x"
        proxy.disable()
        data, _end = read_to_end(live)  # the live connection is dropped
        assert data == b""
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.listen, timeout=2.0).close()
    proxy.enable()
    echoed, _ = round_trip(proxy.listen, b"back")
    assert echoed == b"back"


def test_down_takes_the_proxy_down_until_it_is_removed(proxy: FaultProxy) -> None:
    # Toxiproxy has no such toxic: `down` is its enabled=false, applied like a toxic.
    with connect(proxy.listen) as live:
        live.sendall(b"x")
        assert recv_exactly(live, 1) == b"x"
        proxy.add_toxic(Down())
        data, _end = read_to_end(live)  # the live connection is dropped
        assert data == b""
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.listen, timeout=2.0).close()
    assert proxy.toxics() == [Down()]
    proxy.remove_toxic("down_downstream")
    echoed, _ = round_trip(proxy.listen, b"back")
    assert echoed == b"back"


def test_a_scenario_takes_the_proxy_down_for_a_while_with_its_toxic_steps(
    proxy: FaultProxy,
) -> None:
    # `down` as a timed state: the runner's AddToxic/RemoveToxic steps, nothing new.
    codec = get_codec("lenprefix")
    frame = codec.encode(b"hi")
    scenario = Scenario(
        steps=(
            Send(conn=0, chunks=(frame,)),
            Expect(conn=0),
            AddToxic(toxic=Down()),
            Send(conn=1, chunks=(frame,)),
            Expect(conn=1),
            RemoveToxic(name="down_downstream"),
            Send(conn=2, chunks=(frame,)),
            Expect(conn=2),
        )
    )
    runner = Runner(proxy.upstream, codec, options=RunnerOptions(deadline=1.0), proxy=proxy)
    transcript = runner.play(scenario)
    assert [e.outcome for e in transcript.expects] == ["ok", "refused", "ok"]
    assert transcript.conn(0).frames == [b"hi"]
    assert transcript.conn(1).end == "refused"
    assert transcript.conn(2).frames == [b"hi"]
    assert proxy.toxics() == []  # the runner cleared it: the proxy is up for the next one


def test_clearing_the_toxics_brings_a_down_proxy_back(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=1))
    proxy.add_toxic(Down(name="outage"))
    proxy.clear_toxics()
    assert proxy.toxics() == []
    echoed, _ = round_trip(proxy.listen, b"back")
    assert echoed == b"back"


def test_noop_forwards_unchanged(proxy: FaultProxy) -> None:
    proxy.add_toxic(Noop(stream="upstream"))
    proxy.add_toxic(Noop())
    echoed, _ = round_trip(proxy.listen, PAYLOAD)
    assert echoed == PAYLOAD


# -- nothing left behind -----------------------------------------------------------------


@contextlib.contextmanager
def _fresh_layer(name: str) -> Iterator[tuple[FaultLayer, int | None]]:
    """A layer of its own for ``name``, and the pid of the server behind it (if any)."""
    if name == "embedded":
        yield EmbeddedFaultLayer(), None
    elif name == "proxy-server":
        server = ProxyServer()
        try:
            yield ToxiproxyFaultLayer.connect(server.url), server.pid
        finally:
            server.close()
    else:
        url = os.environ.get("TOXIPROXY_URL")
        layer = ToxiproxyFaultLayer.connect(url) if url else ToxiproxyFaultLayer.start()
        yield layer, layer.server.pid if layer.server else None


def test_closing_a_layer_leaves_nothing_behind(backend_name: str) -> None:
    if backend_name == "toxiproxy":
        need_toxiproxy()
    # The first server a process starts also starts its guardian, whose pipe lives as long
    # as the process: start one first, so that the count measures this layer alone.
    with _fresh_layer(backend_name) as (warm_up, _pid), warm_up:
        pass
    fds, threads = open_fds(), threading.active_count()
    echo = EchoServer()
    with _fresh_layer(backend_name) as (layer, pid):
        with layer:
            opened = [layer.open_proxy(echo.address) for _ in range(2)]
            opened[0].add_toxic(Latency(latency=10))
            for each in opened:
                assert round_trip(each.listen, b"leak?")[0] == b"leak?"
            server = layer.server if isinstance(layer, ToxiproxyFaultLayer) else None
        if server is not None:
            assert not pid_alive(server.pid), f"toxiproxy-server pid {server.pid} survived close()"
            assert not server.log_path.exists()
    echo.close()
    if pid is not None:
        assert eventually(lambda: not pid_alive(pid)), f"server pid {pid} outlived its stop"
    assert eventually(lambda: threading.active_count() <= threads), threading.enumerate()
    assert eventually(lambda: open_fds() <= fds), f"{open_fds()} fds open, {fds} before"


@pytest.mark.parametrize(
    "server", ["toxiproxy", pytest.param("proxy-server", marks=pytest.mark.slow)]
)
def test_closing_a_connected_layer_deletes_its_proxies_only(
    request: pytest.FixtureRequest, server: str, echo: EchoServer
) -> None:
    shared: ToxiproxyFaultLayer = request.getfixturevalue(f"{server.replace('-', '_')}_layer")
    keep = shared.open_proxy(echo.address)
    try:
        with ToxiproxyFaultLayer.connect(shared.url) as borrowed:
            names = [borrowed.open_proxy(echo.address).name for _ in range(2)]
        on_server = shared.client.request("GET", "/proxies")
        assert isinstance(on_server, dict)
        assert not set(names) & set(on_server)
        assert keep.name in on_server  # the server and other proxies live on
    finally:
        keep.close()
