"""A line server: replies ``OK <line>`` to each newline-terminated line, one thread per client."""

from __future__ import annotations

import logging
import socket

from wirefault.targets._serving import (
    Ready,
    drain_before_close,
    listen_tcp,
    serve_thread_per_connection,
)

NAME = "line"
PROTOCOL = "line"
TRANSPORT = "tcp"

MAX_LINE = 8192  # bytes per line, the terminator ("\n" or "\r\n") not counted
CHUNK = 65536
TOO_LONG = b"ERR line too long\n"

log = logging.getLogger(NAME)


def answer_lines(incoming: bytearray) -> tuple[list[bytes], bool]:
    """Cut every complete line off the front of ``incoming`` and answer it.

    Parsing works on the buffer, never on what one recv() returned: a read may
    hold half a line, or many lines, and both are normal on a stream.

    Returns:
        the replies in order, and whether a line is (or can only become) too long,
        after which the connection must get ``ERR line too long`` and be closed.
    """
    replies: list[bytes] = []
    while (end := incoming.find(b"\n")) >= 0:
        line = bytes(incoming[:end]).removesuffix(b"\r")
        del incoming[: end + 1]
        if len(line) > MAX_LINE:
            return replies, True
        replies.append(b"OK " + line + b"\n")
    # No newline left. A partial line is already too long if it could not fit even
    # when the next byte is its "\n": refuse it now instead of buffering without bound.
    # (MAX_LINE bytes and a "\r" can still end well; MAX_LINE + 1 other bytes cannot.)
    partial = len(incoming)
    return replies, partial > MAX_LINE + 1 or (partial == MAX_LINE + 1 and incoming[-1:] != b"\r")


def _serve_client(conn: socket.socket) -> None:
    """Answer one client's lines until it closes, goes quiet, or sends a line too long."""
    incoming = bytearray()  # holds at most MAX_LINE + 1 + CHUNK bytes
    while True:
        data = conn.recv(CHUNK)
        if not data:
            # EOF: every complete line was answered as it arrived. A partial line
            # left in `incoming` is not a request, so it gets no answer.
            return
        incoming += data
        replies, too_long = answer_lines(incoming)
        if replies:
            conn.sendall(b"".join(replies))  # one write for a pipelined burst
        if too_long:
            conn.sendall(TOO_LONG)
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
