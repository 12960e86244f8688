"""A threaded line server whose handler thread dies on invalid UTF-8, leaving the client hanging."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

NAME = "buggy-thread-crash-on-garbage"
PROTOCOL = "line"
TRANSPORT = "tcp"
BUG = "UnicodeDecodeError kills the handler thread, which never closes its socket"
CAUGHT_BY = "malformed"

MAX_LINE = 8192  # bytes, terminator excluded, as the reference line server
IDLE_TIMEOUT = 30.0  # seconds a client may stay silent before it is dropped

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _Clients:
    """The open client sockets, so that shutdown can close them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()

    def add(self, sock: socket.socket) -> None:
        """Register a newly accepted client."""
        with self.lock:
            self.open.add(sock)

    def close(self, sock: socket.socket) -> None:
        """Forget a client and close its socket."""
        with self.lock:
            self.open.discard(sock)
        sock.close()


def _reply_to(line: bytes) -> bytes:
    """The reply to one line (without its terminator)."""
    # BUG: the line is decoded as UTF-8 with the default strict error handler, so a line
    # that is not valid UTF-8 raises UnicodeDecodeError. Nothing in the handler catches it:
    # the thread dies, skipping the close, and the client waits for an answer forever. The
    # right way is to work on bytes (or decode with errors="replace"/"surrogateescape"),
    # and to close the socket in a `finally` so no error leaves it open.
    text = line.decode("utf-8")
    return f"OK {text}\n".encode()


def _answer_lines(sock: socket.socket) -> None:
    """Answer every line of one client until it closes."""
    buffer = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.removesuffix(b"\r")
            if len(line) > MAX_LINE:
                sock.sendall(b"ERR line too long\n")
                return
            sock.sendall(_reply_to(line))
        if len(buffer) > MAX_LINE + 1:
            sock.sendall(b"ERR line too long\n")
            return


def _handle(clients: _Clients, sock: socket.socket) -> None:
    """Serve one client, then close it (only socket errors are expected here)."""
    sock.settimeout(IDLE_TIMEOUT)
    try:
        _answer_lines(sock)
    except OSError as exc:
        log.warning("closing connection: %s", exc)
    clients.close(sock)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    clients = _Clients()
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
            clients.add(sock)
            threading.Thread(target=_handle, args=(clients, sock), daemon=True).start()
    finally:
        listener.close()
        with clients.lock:
            for sock in clients.open:
                sock.close()
