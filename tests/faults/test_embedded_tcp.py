"""The embedded TCP proxy: forwarding, Toxiproxy's toxics, lifecycle — through real sockets."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from _embedded_servers import (
    TcpRecorder,
    connect,
    eventually,
    open_fds,
    recv_exactly,
    recv_to_eof,
    reset,
)

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.base import FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import (
    Bandwidth,
    Drop,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Split,
    Timeout,
)


def roundtrip(sock: socket.socket, data: bytes) -> float:
    """Send ``data``, read its echo; the seconds it took."""
    start = time.monotonic()
    sock.sendall(data)
    assert recv_exactly(sock, len(data)) == data
    return time.monotonic() - start


# -- forwarding --------------------------------------------------------------------------------


def test_forwards_both_ways_from_a_real_port(proxy: FaultProxy, echo: TcpRecorder) -> None:
    assert proxy.listen.port != 0
    assert proxy.upstream == echo.address
    with connect(proxy.listen) as sock:
        roundtrip(sock, b"hello")
    assert echo.conn(0).data == b"hello"


def test_bulk_data_passes_intact_in_both_directions(proxy: FaultProxy) -> None:
    payload = bytes(range(256)) * 16384  # 4 MiB: well past the proxy's pause threshold
    with connect(proxy.listen) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        got = recv_exactly(sock, len(payload))
        sender.join()
    assert got == payload


def test_unreachable_upstream_accepts_then_closes(layer: EmbeddedFaultLayer) -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    proxy = layer.open_proxy(Address("tcp", "127.0.0.1", port))
    with connect(proxy.listen) as sock:
        assert sock.recv(10) == b""


def test_half_close_passes_through_as_half_close(proxy: FaultProxy, echo: TcpRecorder) -> None:
    with connect(proxy.listen) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        assert recv_to_eof(sock) == b"last words"
    log = echo.conn(0)
    assert log.done.wait(5)
    assert log.end == "eof"


def test_client_reset_reaches_the_server_as_reset(proxy: FaultProxy, echo: TcpRecorder) -> None:
    sock = connect(proxy.listen)
    roundtrip(sock, b"x")
    reset(sock)
    log = echo.conn(0)
    assert log.done.wait(5)
    assert log.end == "reset"


def test_server_reset_reaches_the_client_as_reset(layer: EmbeddedFaultLayer) -> None:
    server = TcpRecorder(reset_on_data=True)
    try:
        proxy = layer.open_proxy(server.address)
        with connect(proxy.listen) as sock:
            sock.sendall(b"provoke")
            with pytest.raises(ConnectionResetError):
                sock.recv(10)
    finally:
        server.close()


def test_unix_socket_upstream(layer: EmbeddedFaultLayer, tmp_path: Path) -> None:
    server = TcpRecorder(unix_path=str(tmp_path / "app.sock"))
    try:
        proxy = layer.open_proxy(server.address)
        assert proxy.listen.transport == "tcp"
        with connect(proxy.listen) as sock:
            roundtrip(sock, b"over a unix socket")
            sock.shutdown(socket.SHUT_WR)
            assert recv_to_eof(sock) == b""
        assert server.conn(0).done.wait(5)
        assert server.conn(0).end == "eof"
    finally:
        server.close()


def test_ipv6_loopback(layer: EmbeddedFaultLayer) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = TcpRecorder(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot bind ::1: {exc}")
    try:
        proxy = layer.open_proxy(server.address, listen=Address("tcp", "::1", 0))
        with connect(proxy.listen) as sock:
            roundtrip(sock, b"v6")
    finally:
        server.close()


# -- Toxiproxy's toxics ------------------------------------------------------------------------


def test_latency_delays_each_chunk(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=200))
    with connect(proxy.listen) as sock:
        assert 0.18 <= roundtrip(sock, b"ping") < 2.0


def test_bandwidth_paces_the_stream(proxy: FaultProxy, echo: TcpRecorder) -> None:
    proxy.add_toxic(Bandwidth(rate=50, stream="upstream"))
    payload = b"b" * 100_000
    with connect(proxy.listen) as sock:
        start = time.monotonic()
        sock.sendall(payload)
        log = echo.conn(0)
        assert eventually(lambda: len(log.data) >= len(payload), timeout=10)
        elapsed = time.monotonic() - start
    assert 1.5 <= elapsed < 6.0


def test_bandwidth_rate_zero_stalls_until_removed(proxy: FaultProxy, echo: TcpRecorder) -> None:
    proxy.add_toxic(Bandwidth(rate=0, stream="upstream"))
    with connect(proxy.listen) as sock:
        sock.sendall(b"held")
        log = echo.conn(0)
        assert not eventually(lambda: bool(log.data), timeout=0.3)
        proxy.remove_toxic("bandwidth_upstream")
        assert recv_exactly(sock, 4) == b"held"


def test_slow_close_delays_the_eof(proxy: FaultProxy, echo: TcpRecorder) -> None:
    proxy.add_toxic(SlowClose(delay=300, stream="upstream"))
    with connect(proxy.listen) as sock:
        roundtrip(sock, b"x")
        start = time.monotonic()
        sock.shutdown(socket.SHUT_WR)
        log = echo.conn(0)
        assert log.done.wait(5)
        assert log.eof_at is not None
        assert log.eof_at - start >= 0.28


def test_timeout_swallows_data_then_closes_after_idle(proxy: FaultProxy, echo: TcpRecorder) -> None:
    proxy.add_toxic(Timeout(timeout=300, stream="upstream"))
    with connect(proxy.listen) as sock:
        start = time.monotonic()
        sock.sendall(b"into the void")
        assert recv_to_eof(sock) == b""
        assert time.monotonic() - start >= 0.28
    assert echo.conn(0).done.wait(5)
    assert echo.conn(0).data == b""


def test_timeout_zero_never_closes_but_removing_it_does(proxy: FaultProxy) -> None:
    proxy.add_toxic(Timeout(timeout=0))
    with connect(proxy.listen) as sock:
        sock.settimeout(0.3)
        sock.sendall(b"echoed, then swallowed")
        with pytest.raises(TimeoutError):
            sock.recv(100)
        sock.settimeout(5)
        proxy.remove_toxic("timeout_downstream")
        assert recv_to_eof(sock) == b""


def test_reset_peer_resets_both_sides(proxy: FaultProxy, echo: TcpRecorder) -> None:
    proxy.add_toxic(ResetPeer(timeout=100))
    with connect(proxy.listen) as sock:
        sock.sendall(b"trigger")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    log = echo.conn(0)
    assert log.done.wait(5)
    assert log.end == "reset"


def test_limit_data_forwards_exact_bytes_then_closes(proxy: FaultProxy) -> None:
    proxy.add_toxic(LimitData(bytes=10))
    with connect(proxy.listen) as sock:
        sock.sendall(b"0123456789abcdef")
        assert recv_to_eof(sock) == b"0123456789"


def test_slicer_cuts_writes_into_pieces(proxy: FaultProxy, echo: TcpRecorder) -> None:
    proxy.add_toxic(Slicer(average_size=10, size_variation=4, delay=10_000, stream="upstream"))
    with connect(proxy.listen) as sock:
        roundtrip(sock, bytes(100))
    sizes = echo.conn(0).sizes
    assert sum(sizes) == 100
    assert len(sizes) >= 5


def test_toxicity_zero_never_applies(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=500, toxicity=0.0))
    with connect(proxy.listen) as sock:
        assert roundtrip(sock, b"fast") < 0.4


# -- live changes and lifecycle ----------------------------------------------------------------


def test_toxic_added_and_removed_on_a_live_connection(proxy: FaultProxy) -> None:
    with connect(proxy.listen) as sock:
        assert roundtrip(sock, b"a") < 0.4
        proxy.add_toxic(Latency(latency=200))
        assert roundtrip(sock, b"b") >= 0.18
        proxy.remove_toxic("latency_downstream")
        assert roundtrip(sock, b"c") < 0.4
    assert proxy.toxics() == []


def test_toxics_listed_in_order_added(proxy: FaultProxy) -> None:
    first, second = Latency(latency=1), Slicer(average_size=4, stream="upstream")
    proxy.add_toxic(first)
    proxy.add_toxic(second)
    assert proxy.toxics() == [first, second]
    proxy.clear_toxics()
    assert proxy.toxics() == []


def test_disable_refuses_and_enable_recovers_on_the_same_port(proxy: FaultProxy) -> None:
    live = connect(proxy.listen)
    roundtrip(live, b"up")
    port = proxy.listen.port
    proxy.disable()
    assert live.recv(10) == b""
    live.close()
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.listen)
    proxy.enable()
    assert proxy.listen.port == port
    with connect(proxy.listen) as sock:
        roundtrip(sock, b"back")


def test_close_leaks_no_thread_socket_or_task(echo: TcpRecorder) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    fds_before = open_fds()
    layer = EmbeddedFaultLayer()
    proxy = layer.open_proxy(echo.address)
    proxy.add_toxic(Latency(latency=5))
    clients = [connect(proxy.listen) for _ in range(3)]
    for sock in clients:
        roundtrip(sock, b"x")
    layer.close()
    layer.close()  # idempotent
    for sock in clients:
        assert sock.recv(10) == b""
        sock.close()
    assert eventually(lambda: all(log.done.is_set() for log in echo.conns))
    assert not [t for t in threading.enumerate() if t.name.startswith("wirefault-embedded")]
    assert eventually(lambda: {t.ident for t in threading.enumerate()} <= threads_before)
    assert eventually(lambda: open_fds() <= fds_before)


# -- errors ------------------------------------------------------------------------------------


def test_refusals_are_fault_layer_errors(layer: EmbeddedFaultLayer, echo: TcpRecorder) -> None:
    proxy = layer.open_proxy(echo.address, name="one")
    with pytest.raises(FaultLayerError, match="already open"):
        layer.open_proxy(echo.address, name="one")
    with pytest.raises(FaultLayerError, match="udp://"):
        layer.open_proxy(echo.address, listen=Address("udp", "127.0.0.1", 0))
    with pytest.raises(FaultLayerError, match="cannot listen"):
        layer.open_proxy(echo.address, listen=proxy.listen)
    proxy.add_toxic(Latency(latency=1))
    with pytest.raises(FaultLayerError, match="already has a toxic named 'latency_downstream'"):
        proxy.add_toxic(Latency(latency=2))
    with pytest.raises(FaultLayerError, match="toxics present: latency_downstream"):
        proxy.remove_toxic("nope")
    with pytest.raises(FaultLayerError, match=r"toxics for tcp: .*latency"):
        proxy.add_toxic(Drop())
    layer.close()
    with pytest.raises(FaultLayerError, match="closed"):
        layer.open_proxy(echo.address)


def test_supports_follows_backends_and_transports(layer: EmbeddedFaultLayer) -> None:
    assert layer.backend == "embedded"
    assert layer.supports(Latency())
    assert layer.supports(Split(), "unix")
    assert not layer.supports(Drop(), "tcp")
    assert layer.supports(Drop(), "udp")
    assert not layer.supports(Latency(), "udp")
