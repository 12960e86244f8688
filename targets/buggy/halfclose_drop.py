"""A line server that closes at the client's half-close, dropping replies not yet written."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

NAME = "buggy-halfclose-drop"
PROTOCOL = "line"
TRANSPORT = "tcp"
BUG = "on EOF from the client the socket is closed at once, dropping queued replies"
CAUGHT_BY = "half-close"

MAX_LINE = 8192  # bytes, terminator excluded, as the reference line server
IDLE_TIMEOUT = 30.0  # seconds a client may stay silent before it is dropped
# Replies are written by a per-connection writer thread that waits this long after the
# first pending reply so that a burst of replies goes out in one write (fewer syscalls).
COALESCE = 0.02

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _Connection:
    """One client: a reader (the handler thread) and a writer thread sharing an outbox."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.cond = threading.Condition()
        self.outbox = bytearray()
        self.open = True

    def reply(self, data: bytes) -> None:
        """Queue ``data`` for the writer thread."""
        with self.cond:
            self.outbox += data
            self.cond.notify()

    def write_forever(self) -> None:
        """Writer thread: send queued replies in coalesced batches until closed."""
        while True:
            with self.cond:
                self.cond.wait_for(lambda: bool(self.outbox) or not self.open)
                if not self.open:
                    return
            time.sleep(COALESCE)  # let the rest of a burst join this write
            with self.cond:  # held while writing, so close() cannot pull the socket away
                if not self.open:
                    return
                batch, self.outbox = bytes(self.outbox), bytearray()
                try:
                    self.sock.sendall(batch)
                except OSError as exc:
                    log.warning("write failed: %s", exc)
                    return

    def close(self) -> None:
        """Stop the writer and close the socket."""
        # Wakes a writer blocked on a client that does not read (fails if already reset).
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with self.cond:
            self.open = False
            self.cond.notify()
            self.sock.close()


def _read_lines(conn: _Connection) -> None:
    """Queue `OK <line>` for every line the client sends, until EOF or an error."""
    buffer = b""
    while True:
        data = conn.sock.recv(65536)
        if not data:
            return
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.removesuffix(b"\r")
            if len(line) > MAX_LINE:
                conn.reply(b"ERR line too long\n")
                return
            conn.reply(b"OK " + line + b"\n")
        if len(buffer) > MAX_LINE + 1:
            conn.reply(b"ERR line too long\n")
            return


def _handle(sock: socket.socket) -> None:
    """Serve one client: read lines here, write replies from a writer thread."""
    sock.settimeout(IDLE_TIMEOUT)
    conn = _Connection(sock)
    threading.Thread(target=conn.write_forever, daemon=True).start()
    try:
        _read_lines(conn)
    except OSError as exc:
        log.warning("read failed: %s", exc)
    # BUG: the reader closes the connection as soon as the client half-closes (or after an
    # ERR line), while replies may still sit in the outbox waiting for the writer. A client
    # that sends its requests and then SHUT_WR gets none of those replies. The right way is
    # to tell the writer "no more replies are coming", let it flush the outbox, join it,
    # and only then close the socket.
    conn.close()


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    listener.settimeout(SIGNAL_POLL)
    try:
        ready(listener.getsockname()[:2])
        while True:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue  # see SIGNAL_POLL
            threading.Thread(target=_handle, args=(sock,), daemon=True).start()
    finally:
        listener.close()
