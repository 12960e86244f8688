"""Tiny threaded servers and client helpers for the embedded fault proxy tests.

Every server binds loopback port 0 (or a unix path), records each recv() it
makes, and is stopped — threads joined, sockets closed — by ``close()``.
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

from wirefault.addresses import Address

DEADLINE = 5.0


def eventually(predicate: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    ready = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        ready.wait(0.005)
    return True


@dataclass
class ConnLog:
    """What a server saw on one connection."""

    recvs: list[bytes] = field(default_factory=list)
    #: ``eof`` (the peer closed or half-closed) or ``reset`` (ECONNRESET), once over.
    end: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    eof_at: float | None = None

    @property
    def data(self) -> bytes:
        """Every byte received, in order."""
        return b"".join(self.recvs)

    @property
    def sizes(self) -> list[int]:
        """The size of each recv()."""
        return [len(r) for r in self.recvs]


class TcpRecorder:
    """A threaded stream server that records every recv() and, optionally, echoes it.

    On EOF it echoes nothing more, half-closes its side and closes. With
    ``reset_on_data`` it answers the first data with an RST instead.
    """

    def __init__(
        self,
        *,
        echo: bool = True,
        unix_path: str = "",
        host: str = "127.0.0.1",
        reset_on_data: bool = False,
    ) -> None:
        self.echo = echo
        self.reset_on_data = reset_on_data
        if unix_path:
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(unix_path)
            self.address = Address("unix", path=unix_path)
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._listener = socket.socket(family, socket.SOCK_STREAM)
            self._listener.bind((host, 0))
            self.address = Address("tcp", host, self._listener.getsockname()[1])
        self._listener.listen(16)
        self.conns: list[ConnLog] = []
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            log = ConnLog()
            thread = threading.Thread(target=self._serve, args=(sock, log), daemon=True)
            with self._lock:
                self.conns.append(log)
                self._socks.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, log: ConnLog) -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    log.eof_at = time.monotonic()
                    log.end = "eof"
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
                    return
                log.recvs.append(data)
                if self.reset_on_data:
                    log.end = "sent reset"
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if self.echo:
                    sock.sendall(data)
        except ConnectionResetError:
            log.end = "reset"
        except OSError:
            log.end = log.end or "error"
        finally:
            sock.close()
            log.done.set()

    def conn(self, index: int, timeout: float = DEADLINE) -> ConnLog:
        """The ``index``-th accepted connection's log, waiting for it to arrive."""
        assert eventually(lambda: len(self.conns) > index, timeout), (
            f"the server accepted {len(self.conns)} connections, expected > {index}"
        )
        return self.conns[index]

    def close(self) -> None:
        """Stop accepting, end every connection, join every thread."""
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


class UdpRecorder:
    """A threaded UDP server that records every datagram and echoes it to its sender."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.address = Address("udp", "127.0.0.1", self._sock.getsockname()[1])
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append(data)
            if self.echo:
                self._sock.sendto(data, peer)

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        self._thread.join(DEADLINE)
        self._sock.close()


def connect(address: Address) -> socket.socket:
    """A TCP client socket connected to ``address``, with a generous timeout."""
    sock = socket.create_connection((address.host, address.port), timeout=DEADLINE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Read exactly ``n`` bytes, or fail on EOF."""
    out = bytearray()
    while len(out) < n:
        data = sock.recv(n - len(out))
        assert data, f"EOF after {len(out)} of {n} bytes"
        out += data
    return bytes(out)


def recv_to_eof(sock: socket.socket) -> bytes:
    """Read until EOF."""
    out = bytearray()
    while data := sock.recv(65536):
        out += data
    return bytes(out)


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with an RST (SO_LINGER {1, 0})."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def open_fds() -> set[str]:
    """The process's open file descriptors (without the one used to list them)."""
    listed = os.listdir("/proc/self/fd")
    return {fd for fd in listed if os.path.exists(f"/proc/self/fd/{fd}")}
