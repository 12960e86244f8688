"""A non-blocking lenprefix echo server that ignores how much send() actually sent."""

from __future__ import annotations

import logging
import selectors
import socket
import struct
from collections.abc import Callable

NAME = "buggy-ignore-short-send"
PROTOCOL = "lenprefix"
TRANSPORT = "tcp"
BUG = "send() on a non-blocking socket called once, its short count ignored: replies truncated"
CAUGHT_BY = "large-payload"

MAX_FRAME = 1 << 20  # 1 MiB, as the reference lenprefix server
# A small kernel send buffer per client keeps memory bounded with many clients; it also
# makes short sends happen on loopback, where buffers otherwise grow to megabytes.
SEND_BUFFER = 4096
_HEADER = struct.Struct(">I")

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _Client:
    """One connection's socket and the bytes of frames not yet complete."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.incoming = bytearray()


def _on_readable(client: _Client) -> bool:
    """Read, echo every complete frame; False once the connection should be closed."""
    try:
        data = client.sock.recv(65536)
    except BlockingIOError:  # a spurious wake-up: nothing to read after all
        return True
    if not data:
        return False
    client.incoming += data
    while len(client.incoming) >= _HEADER.size:
        (length,) = _HEADER.unpack_from(client.incoming)
        if length > MAX_FRAME:
            client.sock.send(_HEADER.pack(19) + b"ERR frame too large")
            return False
        end = _HEADER.size + length
        if len(client.incoming) < end:
            break
        reply = bytes(client.incoming[:end])
        del client.incoming[:end]
        # BUG: on a non-blocking socket send() takes only what fits in the kernel's send
        # buffer and returns that count; the rest of the reply is silently lost, so a large
        # frame comes back truncated (and the stream is out of step from then on). The right
        # way is to keep the unsent tail in a per-connection buffer, register EVENT_WRITE and
        # send the rest when the selector says the socket is writable.
        client.sock.send(reply)
    return True


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
            for key, _events in sel.select(timeout=SIGNAL_POLL):
                if key.data is None:
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
                    sel.register(conn, selectors.EVENT_READ, _Client(conn))
                    continue
                client: _Client = key.data
                try:
                    keep = _on_readable(client)
                except OSError as exc:  # BlockingIOError too: send() found the buffer full
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
