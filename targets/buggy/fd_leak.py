"""A threaded line server that leaks the socket of every client that resets its connection."""

from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from collections.abc import Callable

NAME = "buggy-fd-leak"
PROTOCOL = "line"
TRANSPORT = "tcp"
BUG = "on ConnectionResetError the handler returns without closing or forgetting the socket"
CAUGHT_BY = "reset"

MAX_LINE = 8192  # bytes, terminator excluded, as the reference line server
IDLE_TIMEOUT = 30.0  # seconds a client may stay silent before it is dropped
# Not part of the bug: the descriptor limit is lowered so that the leak exhausts it after a
# few dozen resets instead of after thousands (the usual soft limit is 1024 or more).
FD_LIMIT = 64
ACCEPT_BACKOFF = 0.1  # seconds to wait after accept() fails (e.g. EMFILE) before retrying

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _Clients:
    """The open client sockets, so that the server can report and close them."""

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


def _answer_lines(sock: socket.socket) -> None:
    """Answer `OK <line>` to every line of one client until it closes."""
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
            sock.sendall(b"OK " + line + b"\n")
        if len(buffer) > MAX_LINE + 1:
            sock.sendall(b"ERR line too long\n")
            return


def _handle(clients: _Clients, sock: socket.socket) -> None:
    """Serve one client, then close it."""
    sock.settimeout(IDLE_TIMEOUT)
    try:
        _answer_lines(sock)
    except (ConnectionResetError, BrokenPipeError):
        # BUG: this early return skips the cleanup below, and the registry keeps the socket
        # alive, so its descriptor is never closed. Each client that resets leaks one; once
        # the limit is reached accept() fails with EMFILE and no one is served. The right way
        # is `try: ... finally: clients.close(sock)` (or `with sock:`) so every path closes.
        log.info("client reset the connection")
        return
    except OSError as exc:
        log.warning("closing connection: %s", exc)
    clients.close(sock)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = FD_LIMIT if hard == resource.RLIM_INFINITY else min(FD_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
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
            except OSError as exc:  # EMFILE once the leak has used every descriptor
                log.error("accept failed: %s", exc)
                time.sleep(ACCEPT_BACKOFF)
                continue
            clients.add(sock)
            threading.Thread(target=_handle, args=(clients, sock), daemon=True).start()
    finally:
        listener.close()
        with clients.lock:
            for sock in clients.open:
                sock.close()
