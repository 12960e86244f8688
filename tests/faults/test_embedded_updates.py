"""Changing a live proxy: toxic updates (Toxiproxy's PATCH), proxies made disabled, new addresses.

An update gives a toxic new attributes and toxicity where it stands: it keeps
its place, the connections it holds and its per-connection state, as
Toxiproxy's ``UpdateToxic`` does. Each behaviour is checked on the wire.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest
from _embedded_servers import (
    TcpRecorder,
    UdpRecorder,
    connect,
    eventually,
    recv_exactly,
    recv_to_eof,
)

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.embedded import EmbeddedFaultLayer, EmbeddedProxy
from wirefault.faults.toxics import Drop, Latency, LimitData, Slicer, SlowClose, Timeout

#: Never due during a test.
FOREVER_MS = 600_000


def nothing_to_read(sock: socket.socket) -> bool:
    """Whether ``sock`` has no byte (and no EOF) waiting right now."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


@pytest.fixture
def recorder() -> Iterator[TcpRecorder]:
    """A server that records and does not echo."""
    server = TcpRecorder(echo=False)
    yield server
    server.close()


def test_an_update_releases_what_the_old_latency_held_and_applies_the_new(
    proxy: EmbeddedProxy, echo: TcpRecorder
) -> None:
    proxy.add_toxic(Latency(latency=FOREVER_MS))
    with connect(proxy.listen) as sock:
        sock.sendall(b"held")
        assert eventually(lambda: echo.conn(0).data == b"held")
        assert nothing_to_read(sock)  # the echo waits in the toxic
        proxy.update_toxic(Latency(latency=0))
        assert recv_exactly(sock, 4) == b"held"
        sock.sendall(b"next")
        assert recv_exactly(sock, 4) == b"next"
    assert proxy.toxics() == [Latency(latency=0)]


def test_an_update_keeps_the_toxic_in_its_place(proxy: EmbeddedProxy) -> None:
    proxy.add_toxic(Latency(latency=5))
    proxy.add_toxic(Slicer(average_size=4, stream="upstream"))
    proxy.add_toxic(SlowClose(delay=1))
    proxy.update_toxic(Latency(latency=7, jitter=2))
    assert [t.key for t in proxy.toxics()] == [
        "latency_downstream",
        "slicer_upstream",
        "slow_close_downstream",
    ]
    assert proxy.toxics()[0] == Latency(latency=7, jitter=2)


def test_an_updated_timeout_keeps_the_connections_it_holds(
    layer: EmbeddedFaultLayer, recorder: TcpRecorder
) -> None:
    # Removing a timeout closes what it held (Toxiproxy's cleanup); updating it does not.
    proxy = layer.open_proxy(recorder.address)
    proxy.add_toxic(Timeout(timeout=0))
    with connect(proxy.listen) as sock:
        sock.sendall(b"before")
        log = recorder.conn(0)
        assert eventually(lambda: log.data == b"before")
        proxy.update_toxic(Timeout(timeout=FOREVER_MS))
        sock.sendall(b"after")
        assert eventually(lambda: log.data == b"beforeafter")
        assert log.end is None
        proxy.remove_toxic("timeout_downstream")
        assert recv_to_eof(sock) == b""


def test_limit_data_counts_on_across_an_update(proxy: EmbeddedProxy) -> None:
    proxy.add_toxic(LimitData(bytes=10))
    with connect(proxy.listen) as sock:
        sock.sendall(b"123456")
        assert recv_exactly(sock, 6) == b"123456"
        proxy.update_toxic(LimitData(bytes=12))  # 6 of the 12 are gone already
        sock.sendall(b"abcdefghij")
        assert recv_to_eof(sock) == b"abcdef"


def test_a_toxicity_update_starts_and_stops_a_toxic_on_a_live_connection(
    proxy: EmbeddedProxy, echo: TcpRecorder
) -> None:
    proxy.add_toxic(Latency(latency=FOREVER_MS, toxicity=0.0))
    with connect(proxy.listen) as sock:
        sock.sendall(b"a")
        assert recv_exactly(sock, 1) == b"a"  # toxicity 0: not applied
        proxy.update_toxic(Latency(latency=FOREVER_MS, toxicity=1.0))
        sock.sendall(b"b")
        assert eventually(lambda: echo.conn(0).data == b"ab")
        assert nothing_to_read(sock)  # now it applies
        proxy.update_toxic(Latency(latency=FOREVER_MS, toxicity=0.0))
        assert recv_exactly(sock, 1) == b"b"  # off again: what it held goes on


def test_an_update_may_not_change_type_or_stream_or_name_a_missing_toxic(
    proxy: EmbeddedProxy,
) -> None:
    proxy.add_toxic(Latency(latency=1))
    with pytest.raises(FaultLayerError, match="keeps its type and stream"):
        proxy.update_toxic(Latency(latency=1, stream="upstream", name="latency_downstream"))
    with pytest.raises(FaultLayerError, match="no toxic named 'nope'"):
        proxy.update_toxic(Latency(latency=1, name="nope"))


def test_a_udp_toxic_update_applies_to_the_next_datagrams(layer: EmbeddedFaultLayer) -> None:
    server = UdpRecorder(echo=False)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        proxy = layer.open_proxy(server.address)
        proxy.add_toxic(Drop(indices=(0,), stream="upstream"))
        target = (proxy.listen.host, proxy.listen.port)
        for payload in (b"0", b"1"):
            client.sendto(payload, target)
        assert eventually(lambda: server.received == [b"1"])
        proxy.update_toxic(Drop(indices=(3,), stream="upstream"))
        for payload in (b"2", b"3", b"4"):
            client.sendto(payload, target)
        assert eventually(lambda: server.received == [b"1", b"2", b"4"]), server.received
    finally:
        client.close()
        server.close()


# -- proxies made disabled, and new addresses ----------------------------------------------


def test_a_proxy_opened_disabled_listens_only_once_enabled(
    layer: EmbeddedFaultLayer, echo: TcpRecorder
) -> None:
    proxy = layer.open_proxy(echo.address, enabled=False)
    assert not proxy.enabled
    assert proxy.listen.port == 0  # nothing bound yet
    proxy.add_toxic(Latency(latency=0))  # toxics wait for it
    proxy.enable()
    assert proxy.enabled and proxy.listen.port > 0
    with connect(proxy.listen) as sock:
        sock.sendall(b"up")
        assert recv_exactly(sock, 2) == b"up"


def test_retarget_moves_the_listener_and_the_upstream(
    layer: EmbeddedFaultLayer, echo: TcpRecorder, recorder: TcpRecorder
) -> None:
    proxy = layer.open_proxy(echo.address)
    old = proxy.listen
    with socket.socket() as probe:  # a free port to move to
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy.retarget(listen=Address("tcp", "127.0.0.1", port), upstream=recorder.address)
    assert not proxy.enabled
    proxy.enable()
    assert proxy.listen.port == port and proxy.upstream == recorder.address
    with connect(proxy.listen) as sock:
        sock.sendall(b"moved")
        assert eventually(lambda: recorder.conn(0).data == b"moved")
    with pytest.raises(ConnectionRefusedError):
        connect(old).close()
