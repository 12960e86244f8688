"""Test support for tests/targets: a target server in a subprocess, and clients per protocol."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import h11

# `python -m wirefault` is what users run as `wirefault`.
CLI = [sys.executable, "-m", "wirefault"]
READY_TIMEOUT = 20.0  # seconds for a server to print its `listening on` line
IO_TIMEOUT = 10.0  # seconds any single socket operation in a test may take


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``wirefault ARGS`` to completion and capture its output."""
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


class TargetProcess:
    """``wirefault serve NAME --port 0`` in a subprocess of its own session.

    Args:
        name: the target name.
        logdir: where the server's stderr goes (a file, so it can never fill a pipe).
        env: extra environment, e.g. WIREFAULT_IDLE_TIMEOUT.
        host: the address to bind.
    """

    def __init__(
        self,
        name: str,
        logdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.name = name
        self.stderr_path = logdir / f"{name}-{time.monotonic_ns()}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [*CLI, "serve", name, "--host", host, "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=err,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group: teardown can end the children
            )
        try:
            self.line = self._read_listening_line()
        except BaseException:
            self.stop()
            raise
        hostport = self.line.removeprefix("listening on ")
        host_text, _, port_text = hostport.rpartition(":")
        self.host = host_text.strip("[]")
        self.port = int(port_text)

    @property
    def address(self) -> tuple[str, int]:
        """Where the server listens."""
        return (self.host, self.port)

    def _read_listening_line(self) -> str:
        """The first stdout line, read with a deadline (never a bare blocking readline)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buffer = b""
        deadline = time.monotonic() + READY_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name}: no listening line; {self.stderr()}")
                if sel.select(remaining):
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        self.proc.wait(5)
                        raise AssertionError(
                            f"{self.name} exited with {self.proc.returncode}; {self.stderr()}"
                        )
                    buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode()
        assert line.startswith("listening on "), line
        return line

    def stderr(self) -> str:
        """What the server wrote on stderr so far."""
        return "stderr: " + self.stderr_path.read_text(errors="replace")[-2000:]

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.proc.poll() is None

    def terminate(self, timeout: float = 5.0) -> int:
        """SIGTERM the server (the process only, not its group) and return its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """End the server and anything it forked; idempotent."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # Children a broken server left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def connect(address: tuple[str, int]) -> socket.socket:
    """A TCP client connected to ``address``, with TCP_NODELAY and the test I/O timeout."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(IO_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect(address)
    return sock


def recv_exactly(sock: socket.socket, count: int) -> bytes:
    """Read exactly ``count`` bytes; fails on EOF before that."""
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(min(count - len(data), 1 << 20))
        if not chunk:
            raise AssertionError(f"EOF after {len(data)} of {count} bytes: {bytes(data[-80:])!r}")
        data += chunk
    return bytes(data)


def recv_to_eof(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Read until the server closes; fails on more than ``limit`` bytes or the I/O timeout."""
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
        assert len(data) <= limit, "the server kept sending"
    return bytes(data)


def reset_close(sock: socket.socket) -> None:
    """Close with SO_LINGER {1, 0}: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def lenprefix_frame(payload: bytes) -> bytes:
    """A 4-byte big-endian length, then the payload."""
    return struct.pack(">I", len(payload)) + payload


def http_request(body: bytes) -> bytes:
    """A keep-alive POST whose echo is ``body``."""
    return b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@dataclass(frozen=True)
class HttpReply:
    """One parsed response: status, lower-case header names to values, body."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes


def read_http_replies(
    sock: socket.socket, count: int, *, method: bytes = b"POST"
) -> list[HttpReply]:
    """Parse ``count`` responses from ``sock`` with an h11 client.

    The requests were written raw (possibly pipelined), so each cycle tells h11
    a request was sent before parsing its response; the bytes h11 would send
    are discarded.
    """
    client = h11.Connection(h11.CLIENT)
    replies: list[HttpReply] = []
    for _ in range(count):
        client.send(h11.Request(method=method, target="/", headers=[("Host", "test")]))
        client.send(h11.EndOfMessage())
        status, headers, body = 0, {}, bytearray()
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, dict(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise AssertionError(f"connection closed after {len(replies)} of {count} replies")
        replies.append(HttpReply(status, headers, bytes(body)))
        if client.our_state is h11.MUST_CLOSE:
            break
        client.start_next_cycle()
    return replies


@dataclass(frozen=True)
class Dialect:
    """How to talk to one kind of stream server in the generic tests.

    ``request(i)`` is the i-th request on the wire; ``answer(i)`` what should come
    back for it; ``read(sock, n)`` reads ``n`` answers and returns them in the same
    form, so a test compares ``read(sock, n)`` with ``[answer(i) for i in range(n)]``.
    """

    request: Callable[[int], bytes]
    answer: Callable[[int], bytes]
    read: Callable[[socket.socket, int], list[bytes]]


def _payload(i: int) -> bytes:
    return b"message-%d" % i


def _read_fixed(answer: Callable[[int], bytes]) -> Callable[[socket.socket, int], list[bytes]]:
    """A reader for protocols whose answers have known lengths (echo, line, lenprefix)."""

    def read(sock: socket.socket, count: int) -> list[bytes]:
        return [recv_exactly(sock, len(answer(i))) for i in range(count)]

    return read


def _read_http(sock: socket.socket, count: int) -> list[bytes]:
    return [b"%d %s" % (r.status, r.body) for r in read_http_replies(sock, count)]


DIALECTS: dict[str, Dialect] = {
    "raw": Dialect(_payload, _payload, _read_fixed(_payload)),
    "line": Dialect(
        lambda i: _payload(i) + b"\n",
        lambda i: b"OK " + _payload(i) + b"\n",
        _read_fixed(lambda i: b"OK " + _payload(i) + b"\n"),
    ),
    "lenprefix": Dialect(
        lambda i: lenprefix_frame(_payload(i)),
        lambda i: lenprefix_frame(_payload(i)),
        _read_fixed(lambda i: lenprefix_frame(_payload(i))),
    ),
    "http": Dialect(
        lambda i: http_request(_payload(i)), lambda i: b"200 " + _payload(i), _read_http
    ),
}

# Reference stream servers and the dialect each speaks.
STREAM_TARGETS = {
    "echo-threaded": "raw",
    "echo-selectors": "raw",
    "echo-asyncio": "raw",
    "echo-forking": "raw",
    "line": "line",
    "lenprefix": "lenprefix",
    "http": "http",
}
