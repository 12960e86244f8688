"""``wirefault proxy --record FILE``: write the requests clients send as a request file.

A small TCP relay sits in front of the fault proxy::

    client ──> recorder (--listen) ──> fault proxy ──[toxics]──> upstream
                  │
                  └─> FILE: each request the client sent, one escaped line each

Each connection's client-to-server bytes are cut into whole requests by the
codec, and every request is appended to FILE as soon as it is complete, in the
``--requests`` text format (:func:`wirefault.samples.format_requests`). What the
codec cannot frame, and an unfinished request at close, become ``#`` comment
lines, so the file always reads back. With the ``raw`` codec (unframed) each read
from the client is one line. Recording happens before the toxics: it is what the
client sent, not what the faults made of it.

Threads and blocking sockets, one pair per connection: this is a tool for a
person recording their own client, not a load path.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TextIO

from wirefault.addresses import Address
from wirefault.codecs.base import Codec
from wirefault.errors import FaultLayerError, FrameError
from wirefault.escapes import format_escaped

__all__ = ["RequestRecorder"]

_BUFSIZE = 65536


class _Requests:
    """Cuts one connection's client bytes into whole requests of the codec."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.decoder = codec.request_decoder()
        self.buffered = bytearray()  # bytes since the last whole request
        self.failed = ""

    def feed(self, data: bytes) -> list[bytes]:
        """The wire bytes of each request ``data`` completes."""
        if self.failed:
            return []
        if not self.codec.framed:
            return [data]
        self.buffered += data
        try:
            frames = self.decoder.feed(data)
        except FrameError as exc:
            self.failed = str(exc)
            return []
        if not frames:
            return []
        done = len(self.buffered) - self.decoder.pending
        whole = bytes(self.buffered[:done])
        del self.buffered[:done]
        return _split(self.codec, whole, len(frames))


def _split(codec: Codec, whole: bytes, count: int) -> list[bytes]:
    """``whole`` (exactly ``count`` requests) cut at each request's end."""
    if count == 1:
        return [whole]
    decoder = codec.request_decoder()
    out: list[bytes] = []
    start = 0
    for i in range(len(whole)):
        if decoder.feed(whole[i : i + 1]):
            out.append(whole[start : i + 1])
            start = i + 1
    return out if start == len(whole) else [whole]


class _Pair:
    """The two sockets of one relayed connection, closed when both directions are done."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (client, upstream)
        self._lock = threading.Lock()
        self._running = 2

    def done(self) -> bool:
        """One direction ended; True (and both sockets closed) when it was the last."""
        with self._lock:
            self._running -= 1
            if self._running:
                return False
        for sock in self.sockets:
            sock.close()
        return True


class RequestRecorder:
    """A recording TCP relay from ``listen`` to ``upstream`` (a context manager).

    Args:
        listen: where clients connect (port 0: a free one; see :attr:`listen`).
        upstream: where their connections go (the fault proxy).
        codec: cuts what clients send into requests.
        path: the request file to write (created or truncated).
        server: names the server in the file's first line (default: ``upstream``).
    """

    def __init__(
        self, listen: Address, upstream: Address, codec: Codec, path: Path, server: str = ""
    ) -> None:
        self.upstream = upstream
        self.codec = codec
        self.path = path
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self._count = 0
        try:
            self._out: TextIO = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise FaultLayerError(f"--record {path}: cannot write it: {exc.strerror}") from None
        try:
            self._server = socket.create_server((listen.host, listen.port))
        except OSError as exc:
            self._out.close()
            raise FaultLayerError(
                f"cannot listen on {listen.hostport} for --record: {exc.strerror}"
            ) from None
        host, port = self._server.getsockname()[:2]
        self.listen = Address("tcp", host, port)
        self._write(
            f"# requests recorded by wirefault proxy from clients of {server or upstream}, "
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, codec {codec.name}\n"
        )
        self._spawn(self._accept)

    def __enter__(self) -> RequestRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, end every relayed connection, and close the file."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=5)
        with self._lock:
            self._out.close()

    # -- internals -----------------------------------------------------------------------------

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _write(self, text: str) -> None:
        with self._lock:
            if not self._out.closed:
                self._out.write(text)
                self._out.flush()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((self.upstream.host, self.upstream.port))
            except OSError:
                client.close()
                continue
            self._count += 1
            pair = _Pair(client, upstream)
            with self._lock:
                self._sockets.update(pair.sockets)
            self._spawn(self._pump, pair, client, upstream, _Requests(self.codec), self._count)
            self._spawn(self._pump, pair, upstream, client, None, self._count)

    def _pump(
        self,
        pair: _Pair,
        source: socket.socket,
        sink: socket.socket,
        requests: _Requests | None,
        conn: int,
    ) -> None:
        try:
            while data := source.recv(_BUFSIZE):
                if requests is not None:
                    lines = [format_escaped(r) + "\n" for r in requests.feed(data)]
                    if lines:
                        self._write("".join(lines))
                sink.sendall(data)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
        except OSError:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_RDWR)
        finally:
            if requests is not None:
                self._note_leftovers(requests, conn)
            if pair.done():
                with self._lock:
                    self._sockets.difference_update(pair.sockets)

    def _note_leftovers(self, requests: _Requests, conn: int) -> None:
        if requests.failed:
            self._write(f"# connection {conn}: not recorded from here: {requests.failed}\n")
        elif requests.buffered:
            self._write(
                f"# connection {conn}: {len(requests.buffered)} bytes of an unfinished request "
                "not recorded\n"
            )
