"""A TCP echo server with one thread per client and blocking sockets with read timeouts."""

from __future__ import annotations

import logging
import socket

from wirefault.targets._serving import Ready, listen_tcp, serve_thread_per_connection

NAME = "echo-threaded"
PROTOCOL = "raw"
TRANSPORT = "tcp"

CHUNK = 65536  # the most one recv() takes; also the most this server holds per client

log = logging.getLogger(NAME)


def _echo(conn: socket.socket) -> None:
    """Send back every byte the client sends, until it closes or goes quiet.

    ``conn`` is blocking with the idle timeout set (by serve_thread_per_connection):
    recv() raises TimeoutError when the client is silent that long, and
    sendall() raises it when the client stops reading that long. Either ends
    this connection only; so do ECONNRESET and EPIPE.
    """
    while True:
        # Whatever one recv() returns is echoed at once: a stream has no message
        # boundaries, so there is nothing to wait for and nothing to reassemble.
        data = conn.recv(CHUNK)
        if not data:
            # EOF: the client half-closed. Every byte before it was echoed by a
            # sendall() that has returned, so returning (and closing) loses nothing.
            return
        # sendall(), not send(): send() may take only part of the buffer when the
        # client reads slowly; sendall() loops until all of it is queued.
        conn.sendall(data)


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    listener = listen_tcp(host, port)
    try:
        ready(listener.getsockname()[:2])
        # The accept loop lives in _serving because line, lenprefix and http share it:
        # it starts one thread per client, caps their number, and on shutdown wakes
        # every thread blocked in recv() by shutting its socket down.
        serve_thread_per_connection(listener, _echo)
    finally:
        listener.close()
