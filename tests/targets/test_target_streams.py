"""What every reference stream server must do, whatever its protocol and concurrency model."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable

import pytest
from conftest import ServerPool
from targets_support import (
    DIALECTS,
    STREAM_TARGETS,
    TargetProcess,
    connect,
    recv_exactly,
    reset_close,
)

NAMES = list(STREAM_TARGETS)
ECHO_NAMES = [name for name, dialect in STREAM_TARGETS.items() if dialect == "raw"]


def _exchange(server: TargetProcess, count: int = 1) -> None:
    """Open a client, send ``count`` requests at once, check every answer, close."""
    dialect = DIALECTS[STREAM_TARGETS[server.name]]
    with connect(server.address) as sock:
        sock.sendall(b"".join(dialect.request(i) for i in range(count)))
        assert dialect.read(sock, count) == [dialect.answer(i) for i in range(count)]


@pytest.mark.parametrize("name", NAMES)
def test_basic_exchange_is_answered(pool: ServerPool, name: str) -> None:
    _exchange(pool.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_request_split_into_single_bytes_is_reassembled(pool: ServerPool, name: str) -> None:
    server = pool.get(name)
    dialect = DIALECTS[STREAM_TARGETS[name]]
    with connect(server.address) as sock:
        for byte in dialect.request(0):
            sock.send(bytes([byte]))
            time.sleep(0.001)  # pacing, so that each byte travels in a segment of its own
        assert dialect.read(sock, 1) == [dialect.answer(0)]


@pytest.mark.parametrize("name", NAMES)
def test_pipelined_burst_is_answered_in_order(pool: ServerPool, name: str) -> None:
    _exchange(pool.get(name), count=200)


@pytest.mark.parametrize("name", NAMES)
def test_client_reset_does_not_hurt_the_next_client(pool: ServerPool, name: str) -> None:
    server = pool.get(name)
    dialect = DIALECTS[STREAM_TARGETS[name]]
    sock = connect(server.address)
    request = dialect.request(0)
    sock.sendall(request + request[: len(request) // 2])  # one whole request, half of another
    reset_close(sock)
    _exchange(server, count=3)
    assert server.alive()


@pytest.mark.parametrize("name", NAMES)
def test_half_close_gets_every_answer_then_eof(pool: ServerPool, name: str) -> None:
    server = pool.get(name)
    dialect = DIALECTS[STREAM_TARGETS[name]]
    with connect(server.address) as sock:
        sock.sendall(b"".join(dialect.request(i) for i in range(20)))
        sock.shutdown(socket.SHUT_WR)
        assert dialect.read(sock, 20) == [dialect.answer(i) for i in range(20)]
        assert sock.recv(1) == b""


@pytest.mark.parametrize("name", NAMES)
def test_sigterm_exits_zero_with_a_client_connected(
    fresh_server: Callable[..., TargetProcess], name: str
) -> None:
    server = fresh_server(name)
    with connect(server.address) as sock:
        _exchange(server)  # the server is up and serving; `sock` now waits in recv()
        started = time.monotonic()
        assert server.terminate() == 0, server.stderr()
        assert time.monotonic() - started < 5
        # The server closed its side on the way out; a reset is a close too.
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1) == b""


@pytest.mark.parametrize("name", ["echo-threaded", "echo-asyncio"])
def test_sigint_exits_zero_like_sigterm(
    fresh_server: Callable[..., TargetProcess], name: str
) -> None:
    server = fresh_server(name)
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(5) == 0, server.stderr()


@pytest.mark.parametrize("name", NAMES)
def test_idle_client_is_dropped_after_the_idle_timeout(
    fresh_server: Callable[..., TargetProcess], name: str
) -> None:
    server = fresh_server(name, env={"WIREFAULT_IDLE_TIMEOUT": "0.3"})
    with connect(server.address) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # EOF, well before the 10 s socket timeout of the test
        assert 0.2 < time.monotonic() - started < 5
    _exchange(server)


@pytest.mark.parametrize("name", ECHO_NAMES)
def test_large_echo_survives_a_client_that_reads_while_writing(pool: ServerPool, name: str) -> None:
    # 16 MiB is more than both socket buffers on loopback hold: the server's send()
    # comes up short and it must stop reading (bounded buffer) until we catch up.
    payload = bytes(range(256)) * (1 << 16)
    with connect(pool.get(name).address) as sock:
        writer = threading.Thread(target=sock.sendall, args=(payload,))
        writer.start()
        try:
            echoed = recv_exactly(sock, len(payload))
        finally:
            writer.join(10)
        assert echoed == payload
