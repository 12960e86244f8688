"""The embedded UDP proxy: per-client flows and the datagram toxics, through real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from _embedded_servers import UdpRecorder, eventually, open_fds

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.base import FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import (
    Corrupt,
    Delay,
    Drop,
    Duplicate,
    Latency,
    Reorder,
    Truncate,
)


@pytest.fixture
def server() -> Iterator[UdpRecorder]:
    udp = UdpRecorder()
    yield udp
    udp.close()


@pytest.fixture
def proxy(server: UdpRecorder) -> Iterator[FaultProxy]:
    with EmbeddedFaultLayer() as layer:
        yield layer.open_proxy(server.address)


@pytest.fixture
def client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    yield sock
    sock.close()


def send_all(client: socket.socket, proxy: FaultProxy, payloads: list[bytes]) -> None:
    for payload in payloads:
        client.sendto(payload, (proxy.listen.host, proxy.listen.port))


def numbered(n: int) -> list[bytes]:
    return [b"%d" % i for i in range(n)]


def server_gets(server: UdpRecorder, count: int) -> list[bytes]:
    """What the server received once it has ``count`` datagrams."""
    assert eventually(lambda: len(server.received) >= count), server.received
    return list(server.received)


def test_forwards_datagrams_and_replies(
    proxy: FaultProxy, server: UdpRecorder, client: socket.socket
) -> None:
    assert proxy.listen.transport == "udp"
    assert proxy.listen.port != 0
    send_all(client, proxy, [b"hello"])
    data, peer = client.recvfrom(100)
    assert data == b"hello"
    assert peer == (proxy.listen.host, proxy.listen.port)


def test_empty_and_largest_datagrams_pass(proxy: FaultProxy, client: socket.socket) -> None:
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    big = bytes(range(256)) * 255 + bytes(range(227))
    assert len(big) == 65507
    for payload in (b"", big):
        send_all(client, proxy, [payload])
        assert client.recv(65535) == payload


def test_each_client_gets_its_own_replies(proxy: FaultProxy, client: socket.socket) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.settimeout(5)
        send_all(client, proxy, [b"mine"])
        send_all(other, proxy, [b"yours"])
        assert client.recv(100) == b"mine"
        assert other.recv(100) == b"yours"


def test_drop_by_index(proxy: FaultProxy, server: UdpRecorder, client: socket.socket) -> None:
    proxy.add_toxic(Drop(indices=(1, 3), stream="upstream"))
    send_all(client, proxy, numbered(5))
    assert eventually(lambda: b"4" in server.received)
    assert server.received == [b"0", b"2", b"4"]


def test_drop_probability_is_seeded(
    proxy: FaultProxy, server: UdpRecorder, client: socket.socket
) -> None:
    outcomes = []
    for _ in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flow:
            toxic = Drop(probability=0.5, seed=11, stream="upstream")
            proxy.add_toxic(toxic)
            server.received.clear()
            send_all(flow, proxy, [*numbered(20), b"end"])
            proxy.remove_toxic(toxic.key)
            send_all(flow, proxy, [b"end"])  # not dropped: the toxic is gone
            assert eventually(lambda: b"end" in server.received)
            outcomes.append([d for d in server.received if d != b"end"])
    assert outcomes[0] == outcomes[1]
    assert 0 < len(outcomes[0]) < 20


def test_duplicate_sends_copies(
    proxy: FaultProxy, server: UdpRecorder, client: socket.socket
) -> None:
    proxy.add_toxic(Duplicate(copies=2, indices=(0,), stream="upstream"))
    send_all(client, proxy, [b"a", b"b"])
    assert server_gets(server, 4) == [b"a", b"a", b"a", b"b"]


def test_reorder_window_two_reverses_pairs(
    proxy: FaultProxy, server: UdpRecorder, client: socket.socket
) -> None:
    proxy.add_toxic(Reorder(window=2, flush=2000, stream="upstream"))
    send_all(client, proxy, [b"a", b"b", b"c", b"d"])
    assert server_gets(server, 4) == [b"b", b"a", b"d", b"c"]


def test_reorder_flushes_a_short_group(
    proxy: FaultProxy, server: UdpRecorder, client: socket.socket
) -> None:
    proxy.add_toxic(Reorder(window=3, flush=100, stream="upstream"))
    start = time.monotonic()
    send_all(client, proxy, [b"a", b"b"])
    assert server_gets(server, 2) == [b"a", b"b"]
    assert time.monotonic() - start >= 0.09


def test_truncate_cuts_chosen_datagrams(
    proxy: FaultProxy, server: UdpRecorder, client: socket.socket
) -> None:
    proxy.add_toxic(Truncate(size=3, indices=(1,), stream="upstream"))
    send_all(client, proxy, [b"abcdef", b"ghijkl"])
    assert server_gets(server, 2) == [b"abcdef", b"ghi"]


def test_corrupt_flips_bytes_inside_chosen_datagrams(
    proxy: FaultProxy, client: socket.socket
) -> None:
    proxy.add_toxic(Corrupt(offsets=(0, 2, 50), mask=0xFF, indices=(0,)))
    send_all(client, proxy, [b"\x00\x01\x02", b"\x00\x01\x02"])
    assert client.recv(100) == b"\xff\x01\xfd"
    assert client.recv(100) == b"\x00\x01\x02"


def test_delay_holds_chosen_datagrams(proxy: FaultProxy, client: socket.socket) -> None:
    proxy.add_toxic(Delay(delay=200, indices=(0,)))
    start = time.monotonic()
    send_all(client, proxy, [b"slow", b"fast"])
    assert client.recv(100) == b"fast"
    assert client.recv(100) == b"slow"
    assert time.monotonic() - start >= 0.18


def test_removing_a_delay_releases_what_it_holds(proxy: FaultProxy, client: socket.socket) -> None:
    proxy.add_toxic(Delay(delay=60_000))
    send_all(client, proxy, [b"held"])
    client.settimeout(0.2)
    with pytest.raises(TimeoutError):
        client.recv(100)
    client.settimeout(5)
    proxy.remove_toxic("delay_downstream")
    assert client.recv(100) == b"held"


def test_disable_drops_datagrams_and_enable_recovers(
    proxy: FaultProxy, client: socket.socket
) -> None:
    port = proxy.listen.port
    proxy.disable()
    proxy.enable()
    assert proxy.listen.port == port
    send_all(client, proxy, [b"again"])
    assert client.recv(100) == b"again"


def test_tcp_only_toxics_are_refused(proxy: FaultProxy) -> None:
    with pytest.raises(FaultLayerError, match=r"toxics for udp: .*drop"):
        proxy.add_toxic(Latency(latency=10))


def test_idle_flows_expire(server: UdpRecorder, client: socket.socket) -> None:
    with EmbeddedFaultLayer(udp_idle_timeout=0.1) as layer:
        proxy = layer.open_proxy(server.address)
        fds = open_fds()
        send_all(client, proxy, [b"x"])
        assert client.recv(10) == b"x"
        assert eventually(lambda: open_fds() <= fds)  # the flow's socket is gone
        send_all(client, proxy, [b"y"])
        assert client.recv(10) == b"y"


def test_close_leaks_nothing(server: UdpRecorder, client: socket.socket) -> None:
    threads = {t.ident for t in threading.enumerate()}
    fds = open_fds()
    layer = EmbeddedFaultLayer()
    # A host name is resolved on the loop's executor: its thread must go too.
    layer.open_proxy(Address("udp", "localhost", server.address.port))
    proxy = layer.open_proxy(server.address)
    proxy.add_toxic(Delay(delay=60_000))
    send_all(client, proxy, [b"pending"])
    assert eventually(lambda: len(server.received) == 1)
    layer.close()
    assert eventually(lambda: {t.ident for t in threading.enumerate()} <= threads)
    assert open_fds() <= fds
