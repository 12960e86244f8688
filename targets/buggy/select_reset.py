"""A selectors echo server that dies when a client resets its connection."""

from __future__ import annotations

import selectors
import socket
from collections.abc import Callable

NAME = "buggy-select-reset"
PROTOCOL = "raw"
TRANSPORT = "tcp"
BUG = "ConnectionResetError from recv()/send() escapes the selectors loop: the process dies"
CAUGHT_BY = "reset"

MAX_OUTGOING = 4 << 20  # stop reading a client with this much unsent echo
# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5


class _Client:
    """One connection's socket and the echo not yet sent to it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.outgoing = bytearray()
        self.eof = False  # the client half-closed: flush its echo, then close


def _service(sel: selectors.BaseSelector, client: _Client, events: int) -> None:
    """Read and echo what the client is ready for; closes it once done."""
    # BUG: recv() and send() raise ConnectionResetError (or BrokenPipeError) when the peer
    # aborted with RST, and only BlockingIOError is handled here or in the loop. One
    # client's reset ends the process for everyone. The right way is to catch OSError
    # (ConnectionError at least) around each connection's I/O and close only that socket.
    if events & selectors.EVENT_READ:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:  # a spurious wake-up: nothing to read after all
            return
        if data:
            client.outgoing += data
        else:
            client.eof = True
    if client.outgoing:
        try:
            sent = client.sock.send(client.outgoing)
        except BlockingIOError:
            sent = 0
        del client.outgoing[:sent]
    if client.eof and not client.outgoing:
        sel.unregister(client.sock)
        client.sock.close()
        return
    wanted = selectors.EVENT_WRITE if client.outgoing else 0
    if not client.eof and len(client.outgoing) < MAX_OUTGOING:
        wanted |= selectors.EVENT_READ
    sel.modify(client.sock, wanted, client)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    try:
        ready(listener.getsockname()[:2])
        while True:
            for key, events in sel.select(timeout=SIGNAL_POLL):
                if key.data is None:
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, _Client(conn))
                else:
                    _service(sel, key.data, events)
    finally:
        for key in list(sel.get_map().values()):
            if isinstance(key.data, _Client):
                key.data.sock.close()
        sel.close()
        listener.close()
