"""A single-threaded selectors line server that writes replies with a blocking sendall()."""

from __future__ import annotations

import logging
import selectors
import socket
from collections.abc import Callable

NAME = "buggy-slow-reader-block"
PROTOCOL = "line"
TRANSPORT = "tcp"
BUG = "blocking sendall() in an event loop: a client that stops reading freezes every client"
CAUGHT_BY = "stall-isolation"

MAX_LINE = 8192  # bytes, terminator excluded, as the reference line server
# A fixed kernel send buffer per client keeps memory bounded with many clients (and stops
# loopback autotuning from hiding the stall behind megabytes of buffer).
SEND_BUFFER = 65536

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _Client:
    """One connection's socket and the start of a line not yet complete."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""


def _on_readable(client: _Client) -> bool:
    """Read and answer every complete line; False once the connection should be closed."""
    # The selector said "readable", so this recv() returns at once even though the socket
    # is in blocking mode.
    data = client.sock.recv(65536)
    if not data:
        return False
    client.buffer += data
    replies: list[bytes] = []
    *lines, client.buffer = client.buffer.split(b"\n")
    for raw in lines:
        line = raw.removesuffix(b"\r")
        if len(line) > MAX_LINE:
            client.sock.sendall(b"".join(replies) + b"ERR line too long\n")
            return False
        replies.append(b"OK " + line + b"\n")
    if len(client.buffer) > MAX_LINE + 1:
        client.sock.sendall(b"".join(replies) + b"ERR line too long\n")
        return False
    # BUG: sendall() on a blocking socket waits until the kernel has taken every byte. If
    # this client stopped reading, its buffers are full and the call never returns, so the
    # one thread that serves all clients is stuck here. The right way is a non-blocking
    # socket, a per-client outgoing buffer flushed on EVENT_WRITE, and no more reading from
    # a client whose outgoing buffer is over a bound.
    client.sock.sendall(b"".join(replies))
    return True


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    try:
        ready(listener.getsockname()[:2])
        while True:
            for key, _events in sel.select(timeout=SIGNAL_POLL):
                if key.data is None:
                    conn, _ = listener.accept()
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
                    sel.register(conn, selectors.EVENT_READ, _Client(conn))
                    continue
                client: _Client = key.data
                try:
                    keep = _on_readable(client)
                except OSError as exc:
                    log.warning("closing connection: %s", exc)
                    keep = False
                if not keep:
                    sel.unregister(client.sock)
                    client.sock.close()
    finally:
        for key in list(sel.get_map().values()):
            if isinstance(key.data, _Client):
                key.data.sock.close()
        sel.close()
        listener.close()
