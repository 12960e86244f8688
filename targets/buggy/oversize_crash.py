"""A selectors lenprefix echo server whose oversize-frame error escapes the event loop."""

from __future__ import annotations

import logging
import selectors
import socket
import struct
from collections.abc import Callable

NAME = "buggy-oversize-crash"
PROTOCOL = "lenprefix"
TRANSPORT = "tcp"
BUG = "an oversize length raises an error the event loop does not catch: the process dies"
CAUGHT_BY = "malformed"

MAX_FRAME = 1 << 20  # 1 MiB, as the reference lenprefix server
MAX_OUTGOING = 4 << 20  # stop reading a client with this much unsent echo
_HEADER = struct.Struct(">I")

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class FrameTooLarge(ValueError):
    """A client announced a frame longer than MAX_FRAME."""


class _Client:
    """One connection's socket and its incoming and outgoing buffers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.incoming = bytearray()
        self.outgoing = bytearray()
        self.eof = False  # the client half-closed: flush its echo, then close


def _cut_frames(buffer: bytearray) -> list[bytes]:
    """Remove and return every complete frame at the front of ``buffer``."""
    frames: list[bytes] = []
    while len(buffer) >= _HEADER.size:
        (length,) = _HEADER.unpack_from(buffer)
        if length > MAX_FRAME:
            raise FrameTooLarge(f"a frame of {length} bytes was announced (max {MAX_FRAME})")
        end = _HEADER.size + length
        if len(buffer) < end:
            break
        frames.append(bytes(buffer[_HEADER.size : end]))
        del buffer[:end]
    return frames


def _service(sel: selectors.BaseSelector, client: _Client, events: int) -> bool:
    """Read and write what the client is ready for; False once it should be closed."""
    if events & selectors.EVENT_READ:
        data = client.sock.recv(65536)
        client.eof = not data
        client.incoming += data
        for payload in _cut_frames(client.incoming):
            client.outgoing += _HEADER.pack(len(payload)) + payload
    if client.outgoing:
        try:
            sent = client.sock.send(client.outgoing)
        except BlockingIOError:
            sent = 0
        del client.outgoing[:sent]
    if client.eof and not client.outgoing:
        return False
    wanted = selectors.EVENT_WRITE if client.outgoing else 0
    if not client.eof and len(client.outgoing) < MAX_OUTGOING:
        wanted |= selectors.EVENT_READ
    sel.modify(client.sock, wanted, client)
    return True


def _drop(sel: selectors.BaseSelector, client: _Client) -> None:
    sel.unregister(client.sock)
    client.sock.close()


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
                    continue
                client: _Client = key.data
                try:
                    keep = _service(sel, client, events)
                except BlockingIOError:  # a spurious wake-up: nothing to read after all
                    keep = True
                # BUG: only socket errors are contained to their connection. FrameTooLarge is
                # a ValueError raised by the parser: it escapes the loop and ends the process,
                # so one bad header takes down every client. The right way is to catch the
                # protocol error here as well, queue an `ERR frame too large` frame for this
                # client and close it once that is sent.
                except OSError as exc:
                    log.warning("closing connection: %s", exc)
                    keep = False
                if not keep:
                    _drop(sel, client)
    finally:
        for key in list(sel.get_map().values()):
            if isinstance(key.data, _Client):
                key.data.sock.close()
        sel.close()
        listener.close()
