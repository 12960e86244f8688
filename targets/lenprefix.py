"""A frame echo server: 4-byte big-endian length, then payload; one thread per client."""

from __future__ import annotations

import logging
import socket
import struct

from wirefault.targets._serving import (
    Ready,
    drain_before_close,
    listen_tcp,
    serve_thread_per_connection,
)

NAME = "lenprefix"
PROTOCOL = "lenprefix"
TRANSPORT = "tcp"

MAX_FRAME = 1 << 20  # 1 MiB of payload
CHUNK = 65536
HEADER = struct.Struct(">I")  # network byte order, unsigned 32 bits
TOO_LARGE = b"ERR frame too large"

log = logging.getLogger(NAME)


def frame(payload: bytes) -> bytes:
    """``payload`` with its length header in front."""
    return HEADER.pack(len(payload)) + payload


def cut_frames(incoming: bytearray) -> tuple[list[bytes], bool]:
    """Remove every complete frame from the front of ``incoming``.

    A header or payload split over several reads simply stays in the buffer
    until the rest arrives: one recv() is never assumed to be one frame.

    Returns:
        the payloads in order, and whether the next header announces more than
        MAX_FRAME. That is known as soon as the header arrives, before any of
        its payload is buffered, so the buffer stays bounded; the connection
        must then get ``ERR frame too large`` and be closed.
    """
    payloads: list[bytes] = []
    while len(incoming) >= HEADER.size:
        (length,) = HEADER.unpack_from(incoming)
        if length > MAX_FRAME:
            log.info("a frame of %d bytes was announced (max %d)", length, MAX_FRAME)
            return payloads, True
        end = HEADER.size + length
        if len(incoming) < end:
            break
        payloads.append(bytes(incoming[HEADER.size : end]))
        del incoming[:end]
    return payloads, False


def _serve_client(conn: socket.socket) -> None:
    """Echo one client's frames until it closes, goes quiet, or announces a frame too large."""
    incoming = bytearray()  # at most one frame and one read: HEADER + MAX_FRAME + CHUNK
    while True:
        data = conn.recv(CHUNK)
        if not data:
            # EOF: complete frames were echoed as they arrived; a partial one is dropped.
            return
        incoming += data
        payloads, too_large = cut_frames(incoming)
        if payloads:
            conn.sendall(b"".join(frame(p) for p in payloads))  # one write for a burst
        if too_large:
            conn.sendall(frame(TOO_LARGE))
            drain_before_close(conn)
            return


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    listener = listen_tcp(host, port)
    try:
        ready(listener.getsockname()[:2])
        serve_thread_per_connection(listener, _serve_client)
    finally:
        listener.close()
