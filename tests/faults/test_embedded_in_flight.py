"""Delaying toxics keep bytes in flight instead of throttling, within a documented cap.

A proxy that holds B bytes while it delays them for L seconds cannot carry
more than B / L bytes a second. These tests measure B — how much the sender
gets rid of while nothing is due yet — not a speed: a latency far longer
than the test keeps every byte in the toxic, and the sender's progress shows
whether the proxy went on reading. Removing the toxic then lets everything
through, and the receiver checks it byte for byte.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections.abc import Iterator

import pytest
from _embedded_servers import (
    DEADLINE,
    TcpRecorder,
    UdpRecorder,
    connect,
    eventually,
    recv_exactly,
)

from wirefault.addresses import Address
from wirefault.faults.base import FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.embedded.toxics import ByteGauge, _datagram
from wirefault.faults.toxics import Delay, Latency, Reorder

#: More than the old 1 MiB high-water mark plus what loopback socket buffers hold
#: while the proxy stops reading (about 2.7 MB here): only a proxy that keeps
#: reading through the delay takes all of it.
PAYLOAD = os.urandom(16 << 20)
#: Never due during a test: every byte read stays in the toxic until it is removed.
FOREVER_MS = 600_000
#: Seconds the sender may take to hand over the whole payload (it needs well under one).
SEND_DEADLINE = 20.0


class Sender:
    """Sends ``data`` on a socket from a thread, counting what the kernel took."""

    def __init__(self, sock: socket.socket, data: bytes) -> None:
        self.sock = sock
        self.sent = 0
        self.error: OSError | None = None
        self._data = memoryview(data)
        # A small send buffer, so that what is "sent" is (nearly) all in the proxy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while self.sent < len(self._data):
                self.sent += self.sock.send(self._data[self.sent : self.sent + 65536])
        except OSError as exc:
            self.error = exc

    @property
    def done(self) -> bool:
        """Whether every byte was handed to the kernel."""
        return self.sent == len(self._data)


class BulkServer:
    """Accepts one connection and sends it ``data`` (through :class:`Sender`)."""

    def __init__(self, data: bytes) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = Address("tcp", "127.0.0.1", self._listener.getsockname()[1])
        self._data = data
        self.sender: Sender | None = None
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        try:
            self._conn, _ = self._listener.accept()
        except OSError:
            return
        self.sender = Sender(self._conn, self._data)

    def close(self) -> None:
        """Close the listener and the connection, join the threads."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(DEADLINE)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.shutdown(socket.SHUT_RDWR)
            if self.sender is not None:
                self.sender.thread.join(DEADLINE)
            self._conn.close()


@pytest.fixture
def bulk() -> Iterator[BulkServer]:
    """A server that sends :data:`PAYLOAD` to its first client."""
    server = BulkServer(PAYLOAD)
    yield server
    server.close()


def nothing_to_read(sock: socket.socket) -> bool:
    """Whether ``sock`` has no byte waiting right now."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def test_latency_downstream_keeps_reading_the_server_through_the_delay(
    layer: EmbeddedFaultLayer, bulk: BulkServer
) -> None:
    proxy = layer.open_proxy(bulk.address)
    proxy.add_toxic(Latency(latency=FOREVER_MS))
    with connect(proxy.listen) as client:
        assert eventually(lambda: bulk.sender is not None)
        sender = bulk.sender
        assert sender is not None
        done = eventually(lambda: sender.done, SEND_DEADLINE)
        assert done, f"the proxy stopped reading after {sender.sent} of {len(PAYLOAD)} bytes"
        assert nothing_to_read(client)  # all of it is in flight, none is due
        proxy.remove_toxic("latency_downstream")
        assert recv_exactly(client, len(PAYLOAD)) == PAYLOAD


def test_latency_upstream_keeps_reading_the_client_through_the_delay(
    layer: EmbeddedFaultLayer,
) -> None:
    server = TcpRecorder(echo=False)
    try:
        proxy = layer.open_proxy(server.address)
        proxy.add_toxic(Latency(latency=FOREVER_MS, stream="upstream"))
        with connect(proxy.listen) as client:
            sender = Sender(client, PAYLOAD)
            done = eventually(lambda: sender.done, SEND_DEADLINE)
            assert done, f"the proxy stopped reading after {sender.sent} of {len(PAYLOAD)} bytes"
            log = server.conn(0)
            assert log.data == b""
            proxy.remove_toxic("latency_upstream")
            assert eventually(lambda: len(log.data) == len(PAYLOAD), SEND_DEADLINE)
            assert log.data == PAYLOAD
            sender.thread.join(DEADLINE)
    finally:
        server.close()


def _downstream_gauge(proxy: FaultProxy) -> ByteGauge:
    """The downstream gauge of the proxy's only connection (white box: the cap's own count)."""
    core = proxy._core  # type: ignore[attr-defined]
    (conn,) = core.conns
    gauge: ByteGauge = conn.down.gauge
    return gauge


def test_bytes_in_flight_stop_at_the_cap_and_resume_below_it(
    layer: EmbeddedFaultLayer, bulk: BulkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 4 << 20  # a small cap, so the payload is well over it
    monkeypatch.setattr(ByteGauge, "IN_FLIGHT_BYTES", cap)
    proxy = layer.open_proxy(bulk.address)
    proxy.add_toxic(Latency(latency=FOREVER_MS))
    with connect(proxy.listen) as client:
        assert eventually(lambda: bulk.sender is not None and len(proxy._core.conns) == 1)  # type: ignore[attr-defined]
        gauge = _downstream_gauge(proxy)
        assert eventually(lambda: gauge.paused, SEND_DEADLINE), gauge.in_flight
        # Paused by the in-flight budget: over the cap by less than one read (256 KiB).
        assert cap < gauge.in_flight <= cap + 256 * 1024
        assert gauge.nbytes == 0
        assert bulk.sender is not None and not bulk.sender.done
        proxy.remove_toxic("latency_downstream")
        assert recv_exactly(client, len(PAYLOAD)) == PAYLOAD


def test_the_gauge_pauses_on_either_budget_and_resumes_with_room_in_both() -> None:
    calls: list[str] = []
    gauge = ByteGauge()
    gauge.pause, gauge.resume = lambda: calls.append("pause"), lambda: calls.append("resume")
    # Queued bytes: 1 MiB high-water mark, resume at 256 KiB.
    gauge.add(ByteGauge.HIGH + 1)
    assert calls == ["pause"]
    gauge.sub(ByteGauge.HIGH + 1 - ByteGauge.LOW)
    assert calls == ["pause", "resume"]
    gauge.sub(ByteGauge.LOW)
    # In flight: far more is held before the reader pauses...
    big = ByteGauge.HIGH * 4
    gauge.add(big, in_flight=True)
    assert calls == ["pause", "resume"]
    gauge.add(ByteGauge.IN_FLIGHT_BYTES, in_flight=True)
    assert calls[-1] == "pause"
    # ...and it resumes only once both budgets have room again.
    gauge.add(ByteGauge.HIGH + 1)
    gauge.sub(ByteGauge.IN_FLIGHT_BYTES, in_flight=True)
    assert calls[-1] == "pause"
    gauge.sub(ByteGauge.HIGH + 1)
    assert calls[-1] == "resume"
    # The chunk budget counts chunks, however small.
    calls.clear()
    for _ in range(ByteGauge.IN_FLIGHT_CHUNKS + 1):
        gauge.add(1, in_flight=True)
    assert calls == ["pause"]


# -- UDP: what delay and reorder hold is bounded the same way ------------------------------


@pytest.fixture
def udp_server() -> Iterator[UdpRecorder]:
    server = UdpRecorder(echo=False)
    yield server
    server.close()


@pytest.fixture
def udp_client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


def test_delay_holds_datagrams_up_to_the_cap_and_loses_the_rest(
    layer: EmbeddedFaultLayer,
    udp_server: UdpRecorder,
    udp_client: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_datagram, "HELD_DATAGRAMS", 8)
    proxy = layer.open_proxy(udp_server.address)
    proxy.add_toxic(Delay(delay=FOREVER_MS, indices=tuple(range(20)), stream="upstream"))
    target = (proxy.listen.host, proxy.listen.port)
    for i in range(21):  # 0..19 are delayed; 20 is not, and shows that all were read
        udp_client.sendto(b"%d" % i, target)
    assert eventually(lambda: udp_server.received == [b"20"]), udp_server.received
    proxy.remove_toxic("delay_upstream")  # releases what it holds
    udp_client.sendto(b"end", target)
    assert eventually(lambda: udp_server.received[-1:] == [b"end"]), udp_server.received
    assert udp_server.received == [b"20", *(b"%d" % i for i in range(8)), b"end"]


def test_reorder_lets_a_group_go_in_order_when_it_reaches_the_cap(
    layer: EmbeddedFaultLayer,
    udp_server: UdpRecorder,
    udp_client: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_datagram, "HELD_DATAGRAMS", 5)
    proxy = layer.open_proxy(udp_server.address)
    proxy.add_toxic(Reorder(window=1000, flush=FOREVER_MS, stream="upstream"))
    target = (proxy.listen.host, proxy.listen.port)
    for i in range(12):
        udp_client.sendto(b"%d" % i, target)
    expected = [b"%d" % i for i in range(10)]  # two full holds, let go in order
    assert eventually(lambda: udp_server.received == expected), udp_server.received
    proxy.remove_toxic("reorder_upstream")
    assert eventually(lambda: len(udp_server.received) == 12), udp_server.received
    assert udp_server.received == [b"%d" % i for i in range(12)]
