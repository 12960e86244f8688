"""The UDP echo server, and the process bookkeeping of the forking echo server."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ServerPool
from targets_support import IO_TIMEOUT, TargetProcess, connect, recv_exactly


@pytest.fixture
def udp_client() -> Iterator[socket.socket]:
    """A UDP socket with the test I/O timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(IO_TIMEOUT)
        yield sock


@pytest.mark.parametrize("size", [0, 1, 65507], ids=["empty", "one-byte", "largest-ipv4"])
def test_udp_datagram_is_echoed_whole(
    pool: ServerPool, udp_client: socket.socket, size: int
) -> None:
    payload = bytes(i % 251 for i in range(size))
    udp_client.sendto(payload, pool.get("udp-echo").address)
    data, _ = udp_client.recvfrom(65536)
    assert data == payload


def test_udp_datagrams_are_not_merged(pool: ServerPool, udp_client: socket.socket) -> None:
    address = pool.get("udp-echo").address
    for payload in (b"first", b"second", b"third"):
        udp_client.sendto(payload, address)
    replies = [udp_client.recvfrom(65536)[0] for _ in range(3)]
    assert sorted(replies) == [b"first", b"second", b"third"]


def test_udp_server_exits_zero_on_sigterm(fresh_server: Callable[..., TargetProcess]) -> None:
    server = fresh_server("udp-echo")
    assert server.terminate() == 0, server.stderr()


def _children(pid: int) -> dict[int, str]:
    """The child processes of ``pid`` and their state letter (Z for a zombie), from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state, ppid, ...
        if int(fields[1]) == pid:
            children[int(entry.name)] = fields[0]
    return children


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)  # polling with a deadline
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_forking_server_reaps_children_of_closed_connections(
    fresh_server: Callable[..., TargetProcess],
) -> None:
    server = fresh_server("echo-forking")
    for _ in range(3):
        with connect(server.address) as sock:
            sock.sendall(b"ping")
            assert recv_exactly(sock, 4) == b"ping"
    assert _wait_for(lambda: not _children(server.proc.pid)), _children(server.proc.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_forking_server_ends_its_children_on_sigterm(
    fresh_server: Callable[..., TargetProcess],
) -> None:
    server = fresh_server("echo-forking")
    with connect(server.address) as first, connect(server.address) as second:
        for sock in (first, second):
            sock.sendall(b"x")
            assert recv_exactly(sock, 1) == b"x"  # each has its child now
        children = _children(server.proc.pid)
        assert len(children) == 2
        assert server.terminate() == 0, server.stderr()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
