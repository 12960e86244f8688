"""Toxic changes on the embedded proxy: what ``toxics()`` lists is what the traffic gets.

Each change is checked twice: in the list, and on the wire — on new
connections, on live ones, while other connections keep the proxy busy, and
while the proxy's loop is held up with bytes waiting to be read. Corrupt
toxics make the check exact: a TCP corrupt flips the byte at a stream offset,
so whether one byte came back flipped says whether the toxic applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from _embedded_servers import DEADLINE, TcpRecorder, UdpRecorder, connect, recv_exactly

from wirefault.errors import FaultLayerError
from wirefault.faults.base import FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import Corrupt, Drop, Latency, Timeout

#: Added latency that cannot be missed, and a bound no unhindered round trip comes near.
SLOW, FAST = 0.5, 0.4


def echo_of(sock: socket.socket, data: bytes) -> tuple[bytes, float]:
    """Send ``data`` on ``sock``; what came back and the seconds it took."""
    start = time.monotonic()
    sock.sendall(data)
    return recv_exactly(sock, len(data)), time.monotonic() - start


def fresh_echo(proxy: FaultProxy, data: bytes) -> tuple[bytes, float]:
    """:func:`echo_of` on a new connection through ``proxy``."""
    with connect(proxy.listen) as sock:
        return echo_of(sock, data)


def flip_upstream(*offsets: int, name: str = "", mask: int = 0xFF) -> Corrupt:
    """A corrupt toxic on the client-to-server stream."""
    return Corrupt(offsets=offsets, mask=mask, stream="upstream", name=name)


@pytest.fixture
def busy(proxy: FaultProxy) -> Iterator[None]:
    """Three connections echoing 4 KiB blocks through ``proxy`` until the test ends."""
    stop = threading.Event()

    def pump() -> None:
        with connect(proxy.listen) as sock:
            while not stop.is_set():
                echo_of(sock, bytes(4096))  # contents may be corrupted; only the count matters

    with ThreadPoolExecutor(3) as pool:
        pumps = [pool.submit(pump) for _ in range(3)]
        yield
        stop.set()
        for done in pumps:
            done.result()


@contextlib.contextmanager
def loop_held(layer: EmbeddedFaultLayer, before: Callable[[], None]) -> Iterator[None]:
    """Run ``before``, then the body, with the proxy's loop held up so it reads both at once.

    The loop is held (a call blocks its thread) while ``before`` runs, say to send
    bytes; then it polls its sockets — so those bytes are due to be read next —
    and is held again, before reading them, for the body; on leaving, it reads
    what ``before`` and the body sent in one go.
    """
    first, second, holding = threading.Event(), threading.Event(), threading.Event()

    def hold_again() -> None:
        holding.set()
        second.wait(DEADLINE)

    async def hold() -> None:
        first.wait(DEADLINE)  # blocks the loop's thread on purpose: nothing is read meanwhile
        asyncio.get_running_loop().call_soon(hold_again)  # runs after the next poll

    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(layer.call, hold, "hold the loop")
        try:
            before()
            first.set()
            assert holding.wait(DEADLINE), "the loop was not held a second time"
            yield
        finally:
            first.set()
            second.set()
            held.result()


# -- the list and the traffic agree ------------------------------------------------------------


def test_each_change_shows_in_the_list_and_on_new_connections(proxy: FaultProxy) -> None:
    latency, flip = Latency(latency=int(SLOW * 1000)), flip_upstream(0)
    proxy.add_toxic(latency)
    assert proxy.toxics() == [latency]
    assert fresh_echo(proxy, b"\x00")[1] >= SLOW - 0.02
    proxy.add_toxic(flip)
    assert proxy.toxics() == [latency, flip]
    assert fresh_echo(proxy, b"\x00")[0] == b"\xff"
    proxy.remove_toxic(latency.key)
    assert proxy.toxics() == [flip]
    data, took = fresh_echo(proxy, b"\x00")
    assert (data, took < FAST) == (b"\xff", True)
    proxy.clear_toxics()
    assert proxy.toxics() == []
    data, took = fresh_echo(proxy, b"\x00")
    assert (data, took < FAST) == (b"\x00", True)


def test_refused_changes_leave_the_list_and_the_traffic_alone(proxy: FaultProxy) -> None:
    first = flip_upstream(0, mask=0x0F)
    proxy.add_toxic(first)
    with pytest.raises(FaultLayerError, match="already has a toxic named"):
        proxy.add_toxic(flip_upstream(0, mask=0xF0))  # same name, other mask
    with pytest.raises(FaultLayerError, match="cannot apply 'drop'"):
        proxy.add_toxic(Drop())
    with pytest.raises(FaultLayerError, match="no toxic named 'nope'"):
        proxy.remove_toxic("nope")
    assert proxy.toxics() == [first]
    assert fresh_echo(proxy, b"\x00")[0] == b"\x0f"


def test_a_removed_name_can_be_used_again_at_once(proxy: FaultProxy) -> None:
    for mask in (0x01, 0x02, 0x04):
        proxy.add_toxic(flip_upstream(0, mask=mask))
        assert fresh_echo(proxy, b"\x00")[0] == bytes([mask])
        proxy.clear_toxics()
    with pytest.raises(FaultLayerError, match="toxics present: none"):
        proxy.remove_toxic(flip_upstream(0).key)


def test_clearing_with_no_toxics_changes_nothing(proxy: FaultProxy) -> None:
    proxy.clear_toxics()
    assert proxy.toxics() == []
    assert fresh_echo(proxy, b"ok")[0] == b"ok"


def test_a_closed_layer_refuses_toxics_and_lists_none(
    layer: EmbeddedFaultLayer, proxy: FaultProxy
) -> None:
    layer.close()
    with pytest.raises(FaultLayerError, match="closed"):
        proxy.add_toxic(Latency())
    assert proxy.toxics() == []


# -- live connections --------------------------------------------------------------------------


def test_every_live_connection_takes_a_change_on_its_next_byte(proxy: FaultProxy) -> None:
    socks = [connect(proxy.listen) for _ in range(8)]
    try:
        for sock in socks:
            assert echo_of(sock, b"abc")[0] == b"abc"  # each is now at stream offset 3
        proxy.add_toxic(flip_upstream(3, 4))
        assert [echo_of(sock, b"\x00")[0] for sock in socks] == [b"\xff"] * 8
        proxy.clear_toxics()
        assert [echo_of(sock, b"\x00")[0] for sock in socks] == [b"\x00"] * 8
    finally:
        for sock in socks:
            sock.close()


def test_a_toxic_reaches_an_idle_live_connection_without_waiting_for_data(
    proxy: FaultProxy, echo: TcpRecorder
) -> None:
    with connect(proxy.listen) as sock:
        assert echo_of(sock, b"live")[0] == b"live"
        proxy.add_toxic(Timeout(timeout=50))  # closes the connection after 50 ms idle
        assert sock.recv(10) == b""
    assert echo.conn(0).done.wait(DEADLINE)


@pytest.mark.usefixtures("busy")
def test_changes_apply_from_the_next_byte_while_the_proxy_is_busy(proxy: FaultProxy) -> None:
    burst = bytes(range(256)) * 16
    with connect(proxy.listen) as sock:
        offset = 0
        for _ in range(40):
            # Bytes still in flight when the toxic comes, then one byte it must flip.
            sock.sendall(burst)
            toxic = flip_upstream(offset + len(burst), offset + len(burst) + 1)
            proxy.add_toxic(toxic)
            sock.sendall(b"\x00")
            assert recv_exactly(sock, len(burst) + 1) == burst + b"\xff", f"offset {offset}"
            # Once removed, it must leave the next byte alone.
            proxy.remove_toxic(toxic.key)
            assert echo_of(sock, b"\x00")[0] == b"\x00", f"offset {offset}"
            offset += len(burst) + 2


def test_a_toxic_applies_to_bytes_read_together_with_older_ones(
    layer: EmbeddedFaultLayer, proxy: FaultProxy
) -> None:
    burst = bytes(range(256)) * 16
    with connect(proxy.listen) as sock:
        assert echo_of(sock, b"live")[0] == b"live"
        # The burst is due to be read before the toxic comes; the byte after it is not.
        with loop_held(layer, lambda: sock.sendall(burst)):
            proxy.add_toxic(flip_upstream(4 + len(burst)))
            sock.sendall(b"\x00")
        assert recv_exactly(sock, len(burst) + 1) == burst + b"\xff"


def test_concurrent_callers_keep_the_list_in_step(proxy: FaultProxy) -> None:
    idle = connect(proxy.listen)  # live throughout; any toxic left on it would slow it

    def churn(worker: int) -> None:
        for n in range(25):
            toxic = Latency(latency=int(SLOW * 1000), name=f"w{worker}-{n}")
            proxy.add_toxic(toxic)
            assert toxic in proxy.toxics()
            proxy.remove_toxic(toxic.key)
            assert toxic not in proxy.toxics()

    try:
        with ThreadPoolExecutor(4) as pool:
            for done in [pool.submit(churn, worker) for worker in range(4)]:
                done.result()
        assert proxy.toxics() == []
        data, took = echo_of(idle, b"after")
        assert (data, took < FAST) == (b"after", True)
    finally:
        idle.close()


# -- UDP -----------------------------------------------------------------------------------------


@pytest.fixture
def udp_server() -> Iterator[UdpRecorder]:
    server = UdpRecorder()
    yield server
    server.close()


@pytest.fixture
def udp_client(layer: EmbeddedFaultLayer, udp_server: UdpRecorder) -> Iterator[socket.socket]:
    """A UDP socket connected to a proxy in front of ``udp_server``, its flow already live."""
    proxy = layer.open_proxy(udp_server.address)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(DEADLINE)
        client.connect((proxy.listen.host, proxy.listen.port))
        client.send(b"live")
        assert client.recv(10) == b"live"
        yield client


def test_udp_changes_apply_from_the_next_datagram_of_a_live_flow(
    layer: EmbeddedFaultLayer, udp_client: socket.socket
) -> None:
    (proxy,) = layer.proxies()
    for _ in range(20):
        toxic = Corrupt(offsets=(0,), stream="upstream")
        proxy.add_toxic(toxic)
        assert proxy.toxics() == [toxic]
        udp_client.send(b"\x00")
        assert udp_client.recv(10) == b"\xff"
        proxy.remove_toxic(toxic.key)
        assert proxy.toxics() == []
        udp_client.send(b"\x00")
        assert udp_client.recv(10) == b"\x00"


def test_udp_toxic_applies_to_datagrams_read_together_with_older_ones(
    layer: EmbeddedFaultLayer, udp_client: socket.socket
) -> None:
    (proxy,) = layer.proxies()
    # The first datagram is due to be read before the toxic comes (it may or may not
    # get it: it is read after); the second is sent after, and must get it.
    with loop_held(layer, lambda: udp_client.send(b"\x00a")):
        proxy.add_toxic(Corrupt(offsets=(0,), stream="upstream"))
        udp_client.send(b"\x00b")
    replies = {udp_client.recv(10) for _ in range(2)}
    assert b"\xffb" in replies
