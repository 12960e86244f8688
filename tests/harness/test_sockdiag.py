"""The sock_diag reader: what a server on this machine has read of our bytes."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirefault.sockdiag import (
    AckWatch,
    DiagSocket,
    PortSocket,
    TcpWatch,
    UnixWatch,
    watch_datagrams,
    watch_peer,
)


@pytest.fixture
def diag() -> Iterator[DiagSocket]:
    handle = DiagSocket.open()
    if handle is None:
        pytest.skip("no sock_diag netlink on this system")
    with handle:
        yield handle


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    """A listener, a connected client and the accepted server socket, all on loopback."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        yield listener, client, server
    finally:
        for sock in (client, server, listener):
            sock.close()


def _wait_unread(watch: TcpWatch, sent: int, expected: int) -> int | None:
    # Loopback delivers at once, but under load the bytes may still be in flight.
    for _ in range(200):
        unread = watch.unread(sent)
        if unread == expected:
            return unread
        time.sleep(0.005)
    return watch.unread(sent)


def test_tcp_watch_counts_what_the_server_has_read(diag, tcp_pair) -> None:
    _, client, server = tcp_pair
    watch = watch_peer(client, diag)
    assert isinstance(watch, TcpWatch)
    client.sendall(b"x" * 10)
    assert _wait_unread(watch, 10, 10) == 10
    assert server.recv(4) == b"xxxx"
    assert watch.unread(10) == 6
    server.recv(100)
    assert watch.unread(10) == 0
    peer = watch.peer()
    assert peer is not None and peer.received == 10 and peer.read == 10


def test_bytes_not_yet_sent_count_as_unread(diag, tcp_pair) -> None:
    _, client, _ = tcp_pair
    watch = watch_peer(client, diag)
    assert watch is not None
    # The server has read nothing of 7 bytes we claim to have sent: all 7 are unread.
    assert watch.unread(7) == 7


def test_the_listener_on_the_same_port_is_not_taken_for_the_peer(diag, tcp_pair) -> None:
    _, client, _ = tcp_pair
    other = socket.socket()
    try:
        other.bind(("127.0.0.1", 0))  # a local port with no connection to the listener
        request = diag.tcp_request(client)
        assert request is not None
        # Rewrite the lookup to a four-tuple that does not exist: the kernel answers with
        # the listening socket, which must not count as our peer.
        port = other.getsockname()[1].to_bytes(2, "big")
        fake = request[:10] + port + request[12:]
        assert diag.tcp_peer(fake) is None
    finally:
        other.close()


def test_a_closed_server_end_is_no_longer_seen(diag, tcp_pair) -> None:
    _, client, server = tcp_pair
    watch = watch_peer(client, diag)
    assert isinstance(watch, TcpWatch)
    client.sendall(b"abc")
    time.sleep(0.01)
    server.close()  # unread bytes: the kernel resets, and the socket is gone
    assert watch.peer() is None
    assert watch.unread(3) is None


def _port_socket(diag: DiagSocket, port: int, **expected: int) -> PortSocket:
    """The one connected socket on ``port`` once it shows ``expected`` (loopback may lag)."""
    for _ in range(200):
        (found,) = diag.port_sockets(socket.AF_INET, port) or [None]
        if found is not None and all(getattr(found, k) == v for k, v in expected.items()):
            return found
        time.sleep(0.005)
    raise AssertionError(f"no socket on port {port} with {expected}; last {found}")


def test_a_ports_sockets_count_bytes_each_way_and_a_fin_as_one(diag, tcp_pair) -> None:
    listener, client, server = tcp_pair
    port = listener.getsockname()[1]
    (listening,) = diag.port_sockets(socket.AF_INET, port, listening=True) or []
    assert listening.state == 10
    _port_socket(diag, port, state=1, received=0, acked=0)
    client.sendall(b"x" * 10)
    _port_socket(diag, port, received=10, unread=10)
    server.recv(100)
    server.sendall(b"y" * 7)
    _port_socket(diag, port, received=10, unread=0, acked=7, unacked=0)
    client.shutdown(socket.SHUT_WR)  # the FIN: one more byte received, and unread
    _port_socket(diag, port, state=8, received=11, unread=1)


def test_a_ports_socket_looked_up_again_by_itself_counts_as_in_the_dump(diag, tcp_pair) -> None:
    listener, client, server = tcp_pair
    port = listener.getsockname()[1]
    client.sendall(b"x" * 10)
    dumped = _port_socket(diag, port, received=10)
    again = diag.port_socket(socket.AF_INET, dumped.sockid)
    assert again == dumped and again.sockid == dumped.sockid
    server.recv(100)
    server.sendall(b"y" * 7)
    for _ in range(200):  # loopback may lag
        again = diag.port_socket(socket.AF_INET, dumped.sockid)
        if again is not None and (again.unread, again.acked) == (0, 7):
            break
        time.sleep(0.005)
    assert again is not None and (again.cookie, again.unread, again.acked) == (dumped.cookie, 0, 7)
    server.close()  # closed first: fin-wait, still counted
    client.close()  # then time-wait, or gone: no counters left
    for _ in range(200):
        if diag.port_socket(socket.AF_INET, dumped.sockid) is None:
            break
        time.sleep(0.005)
    assert diag.port_socket(socket.AF_INET, dumped.sockid) is None


def test_a_port_with_nothing_connected_has_no_sockets(diag) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert diag.port_sockets(socket.AF_INET, port) == []
        assert diag.port_sockets(socket.AF_INET6, port, listening=True) == []


def test_without_netlink_a_tcp_server_is_seen_only_through_acknowledgements(tcp_pair) -> None:
    _, client, _ = tcp_pair
    watch = watch_peer(client, None)
    assert isinstance(watch, AckWatch)
    assert not watch.sees_reads
    client.sendall(b"hello")
    for _ in range(200):  # acknowledged by the kernel, not read by the server
        if watch.unread(5) == 0:
            break
        time.sleep(0.005)
    assert watch.unread(5) == 0
    assert watch.replying() is None


def test_unix_watch_sees_what_the_server_consumed(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    server, _ = listener.accept()
    try:
        watch = watch_peer(client, None)
        assert isinstance(watch, UnixWatch)
        assert watch.unread(0) == 0
        client.sendall(b"abc")
        unread = watch.unread(3)
        assert unread is not None and unread > 0
        server.recv(1)
        assert (watch.unread(3) or 0) > 0  # partly read is not read
        server.recv(10)
        assert watch.unread(3) == 0
    finally:
        for sock in (client, server, listener):
            sock.close()


def test_datagram_sockets_have_no_stream_watch() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert watch_peer(sock, None) is None
    finally:
        sock.close()


def test_udp_watch_sees_the_server_socket_read_our_datagrams(diag) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        server.bind(("127.0.0.1", 0))
        client.connect(server.getsockname())
        watch = watch_datagrams(client, diag)
        assert watch is not None
        assert watch.unread(0) == 0
        client.send(b"one")
        client.send(b"two")
        first = watch.unread(0)
        assert first is not None and first > 0
        server.recv(100)
        second = watch.unread(0)
        assert second is not None and 0 < second < first
        server.recv(100)
        assert watch.unread(0) == 0
        assert watch.replying() is False
    finally:
        client.close()
        server.close()


def test_an_unconnected_udp_socket_has_no_watch(diag) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert watch_datagrams(sock, diag) is None
    finally:
        sock.close()
