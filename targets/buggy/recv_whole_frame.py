"""A length-prefixed echo server that takes every recv() to be exactly one whole frame."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable

NAME = "buggy-recv-whole-frame"
PROTOCOL = "lenprefix"
TRANSPORT = "tcp"
BUG = "recv() assumed to return exactly one whole frame"
CAUGHT_BY = "reassembly"

MAX_FRAME = 1 << 20  # 1 MiB, as the reference lenprefix server
_HEADER = struct.Struct(">I")

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


def _frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def _handle(conn: socket.socket) -> None:
    """Echo frames back to one client until it closes."""
    with conn:
        try:
            while True:
                # BUG: one recv() is taken to be one whole frame. TCP is a byte stream: a read
                # may return part of a frame (the rest comes with the next read) or several
                # frames at once. The right way is to append every read to a buffer and cut a
                # frame from it only once its header and then its whole body are there.
                data = conn.recv(65536)
                if not data:
                    return
                # A read shorter than the header raises struct.error here (caught below: the
                # client loses its connection); a short body is echoed short under a header
                # that still claims the full length, and its tail becomes the next "header".
                (length,) = _HEADER.unpack(data[: _HEADER.size])
                if length > MAX_FRAME:
                    conn.sendall(_frame(b"ERR frame too large"))
                    return
                body = data[_HEADER.size : _HEADER.size + length]
                conn.sendall(data[: _HEADER.size] + body)
        except (OSError, struct.error) as exc:
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
