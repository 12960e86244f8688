"""A line server that answers only the first line of each read and drops the rest."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

NAME = "buggy-first-frame-only"
PROTOCOL = "line"
TRANSPORT = "tcp"
BUG = "only the first line of each recv() is answered; pipelined lines are discarded"
CAUGHT_BY = "pipelining"

MAX_LINE = 8192  # bytes, terminator excluded, as the reference line server

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


def _handle(conn: socket.socket) -> None:
    """Answer `OK <line>` to one client's lines until it closes."""
    with conn:
        buffer = b""
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                if b"\n" not in buffer:
                    # A partial line: keep it (a line split over reads is handled right),
                    # but never buffer more than one maximal line plus its "\r".
                    if len(buffer) > MAX_LINE + 1:
                        conn.sendall(b"ERR line too long\n")
                        return
                    continue
                line, _, _rest = buffer.partition(b"\n")
                # BUG: everything after the first newline is thrown away. A client that
                # pipelines ("a\nb\n" in one write) gets an answer to "a" only, and waits for
                # "b"'s forever. The right way is to keep `_rest` as the new buffer and loop
                # over every complete line in it before reading again.
                buffer = b""
                line = line.removesuffix(b"\r")
                if len(line) > MAX_LINE:
                    conn.sendall(b"ERR line too long\n")
                    return
                conn.sendall(b"OK " + line + b"\n")
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
