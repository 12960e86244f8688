"""A lenprefix echo server that waits forever for the body of an oversized frame it skips."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable

NAME = "buggy-malformed-hang"
PROTOCOL = "lenprefix"
TRANSPORT = "tcp"
BUG = "an oversize length is logged and its body skipped, with no reply, close or timeout"
CAUGHT_BY = "malformed"

MAX_FRAME = 1 << 20  # 1 MiB, as the reference lenprefix server
_HEADER = struct.Struct(">I")

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _FrameReader:
    """Cuts frames from a byte stream; skips the body of any frame that is too large."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.skipping = 0  # bytes of an oversized body still to discard

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return the payloads of the frames it completes."""
        self.buffer += data
        frames: list[bytes] = []
        while True:
            if self.skipping:
                dropped = min(self.skipping, len(self.buffer))
                del self.buffer[:dropped]
                self.skipping -= dropped
                if self.skipping:
                    return frames
            if len(self.buffer) < _HEADER.size:
                return frames
            (length,) = _HEADER.unpack_from(self.buffer)
            if length > MAX_FRAME:
                # BUG: "be lenient": log the oversized frame and skip its body. The client
                # gets no reply, the connection stays open, and the server waits (recv has no
                # timeout) for up to 4 GiB that will never come: the client hangs. The right
                # way is to reply `ERR frame too large` and close the connection at once,
                # and to give reads a timeout.
                log.warning("skipping an oversized frame of %d bytes", length)
                del self.buffer[: _HEADER.size]
                self.skipping = length
                continue
            end = _HEADER.size + length
            if len(self.buffer) < end:
                return frames
            frames.append(bytes(self.buffer[_HEADER.size : end]))
            del self.buffer[:end]


def _handle(conn: socket.socket) -> None:
    """Echo frames back to one client until it closes."""
    reader = _FrameReader()
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for payload in reader.feed(data):
                    conn.sendall(_HEADER.pack(len(payload)) + payload)
        except OSError as exc:
            log.warning("closing connection: %s", exc)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    listener.settimeout(SIGNAL_POLL)
    try:
        ready(listener.getsockname()[:2])
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue  # see SIGNAL_POLL
            threading.Thread(target=_handle, args=(conn,), daemon=True).start()
    finally:
        listener.close()
