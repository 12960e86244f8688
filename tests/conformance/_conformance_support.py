"""A recording echo server and client helpers for the fault-backend conformance suite.

The server binds 127.0.0.1 port 0, logs every recv() per connection, echoes
what it reads (unless told not to), half-closes on EOF, and is stopped —
listener closed, connections closed, threads joined — by :meth:`EchoServer.close`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from wirefault.addresses import Address
from wirefault.faults.toxiproxy_server import INSTALL_HINT, find_server_binary

#: Seconds any wait in these tests may take before it counts as a failure.
DEADLINE = 5.0


def eventually(predicate: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()  # never set: wait() is the poll interval
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        tick.wait(0.01)
    return True


@dataclass
class Connection:
    """What the server saw on one accepted connection."""

    recvs: list[bytes] = field(default_factory=list)
    #: ``eof``, ``reset`` or ``error`` once the connection is over.
    end: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def data(self) -> bytes:
        """Every byte received, in order."""
        return b"".join(self.recvs)

    @property
    def sizes(self) -> list[int]:
        """The size of each recv()."""
        return [len(r) for r in self.recvs]


class EchoServer:
    """A threaded TCP echo server on 127.0.0.1 that records every recv()."""

    def __init__(self, *, echo: bool = True, hang_up: bool = False) -> None:
        self.echo = echo
        #: Close each connection after its first read, without answering.
        self.hang_up = hang_up
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(32)
        self.address = Address("tcp", "127.0.0.1", self._listener.getsockname()[1])
        self.connections: list[Connection] = []
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name="echo-accept", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            conn = Connection()
            thread = threading.Thread(target=self._serve, args=(sock, conn), daemon=True)
            with self._lock:
                self.connections.append(conn)
                self._socks.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, conn: Connection) -> None:
        try:
            while data := sock.recv(65536):
                conn.recvs.append(data)
                if self.hang_up:
                    sock.shutdown(socket.SHUT_RDWR)
                    conn.end = "hung up"
                    return
                if self.echo:
                    sock.sendall(data)
            conn.end = "eof"
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        except ConnectionResetError:
            conn.end = "reset"
        except OSError:
            conn.end = conn.end or "error"
        finally:
            conn.done.set()

    def connection(self, index: int = 0, timeout: float = DEADLINE) -> Connection:
        """The ``index``-th accepted connection, waiting for it to be accepted."""
        assert eventually(lambda: len(self.connections) > index, timeout), (
            f"the server accepted {len(self.connections)} connection(s), expected > {index}"
        )
        return self.connections[index]

    def close(self) -> None:
        """Close the listener and every connection; join every thread."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._acceptor.join(DEADLINE)
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(DEADLINE)
        for sock in socks:
            sock.close()


def connect(address: Address, timeout: float = DEADLINE) -> socket.socket:
    """A TCP client connected to ``address`` with TCP_NODELAY and a read timeout."""
    sock = socket.create_connection(address.sockaddr(), timeout=timeout)  # type: ignore[arg-type]
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes (the socket's timeout bounds each recv)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        data = sock.recv(min(remaining, 65536))
        if not data:
            break
        chunks.append(data)
        remaining -= len(data)
    return b"".join(chunks)


def read_to_end(sock: socket.socket) -> tuple[bytes, str]:
    """Read until the peer closes: ``(data, "eof" | "reset")``; a timeout propagates."""
    chunks: list[bytes] = []
    try:
        while data := sock.recv(65536):
            chunks.append(data)
    except ConnectionResetError:
        return b"".join(chunks), "reset"
    return b"".join(chunks), "eof"


def round_trip(address: Address, payload: bytes = b"ping") -> tuple[bytes, float]:
    """Connect, send ``payload``, read as many bytes back: ``(echoed, seconds)``."""
    with connect(address) as sock:
        start = time.monotonic()
        sock.sendall(payload)
        echoed = recv_exactly(sock, len(payload))
        return echoed, time.monotonic() - start


def abort(sock: socket.socket) -> None:
    """Close with SO_LINGER {1, 0}: the peer sees RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def toxiproxy_unavailable() -> str | None:
    """Why no Toxiproxy can be had here, or None when one can."""
    if os.environ.get("TOXIPROXY_URL") or find_server_binary():
        return None
    return f"toxiproxy-server not found and TOXIPROXY_URL unset ({INSTALL_HINT})"


def need_toxiproxy() -> None:
    """Skip the calling test when Toxiproxy is missing (fail when it is required)."""
    reason = toxiproxy_unavailable()
    if reason is None:
        return
    if os.environ.get("WIREFAULT_REQUIRE_TOXIPROXY") == "1":
        pytest.fail(f"WIREFAULT_REQUIRE_TOXIPROXY=1 but {reason}")
    pytest.skip(reason)
