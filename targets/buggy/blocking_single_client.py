"""A line server that serves one client at a time with blocking reads and no timeout."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

NAME = "buggy-blocking-single-client"
PROTOCOL = "line"
TRANSPORT = "tcp"
BUG = "iterative accept loop: a client that stalls mid-request blocks every other client"
CAUGHT_BY = "stall-isolation"

MAX_LINE = 8192  # bytes, terminator excluded, as the reference line server

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


def _answer_lines(conn: socket.socket) -> None:
    """Answer `OK <line>` to every line of one client until it closes."""
    buffer = b""
    while True:
        # A blocking recv() with no timeout: a client that sends half a line and then
        # nothing keeps the server here for as long as it likes.
        data = conn.recv(65536)
        if not data:
            return
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.removesuffix(b"\r")
            if len(line) > MAX_LINE:
                conn.sendall(b"ERR line too long\n")
                return
            conn.sendall(b"OK " + line + b"\n")
        if len(buffer) > MAX_LINE + 1:
            conn.sendall(b"ERR line too long\n")
            return


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
            with conn:
                # BUG: the client is served in the accept loop itself, so the next client is
                # not even accepted until this one closes; one slow or stalled client stops
                # the whole server. The right way is a thread (or process) per client, or a
                # non-blocking event loop, plus a read timeout so a stalled client is dropped.
                try:
                    _answer_lines(conn)
                except OSError as exc:
                    log.warning("closing connection: %s", exc)
    finally:
        listener.close()
