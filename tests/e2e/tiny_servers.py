"""Small line servers for the CLI tests, run as scripts.

``python tiny_servers.py unix PATH``   a line server on an AF_UNIX socket;
``python tiny_servers.py greeting PORT`` a TCP line server that greets first (SMTP style);
``python tiny_servers.py ping PORT``     a TCP line server that answers ``PING`` alone
(``PONG``) and hangs up on any other line;
``python tiny_servers.py slots PORT``    a TCP line server that serves at most
:data:`SLOTS` clients at once, and whose reset path forgets to give the slot back:
once that many clients have reset, it accepts no one (a leak that only
accumulated state shows: each socket is closed, but the slot is lost).
All but ``ping`` answer ``OK <line>`` per line; all stop on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading


def serve_ping(conn: socket.socket) -> None:
    with conn, conn.makefile("rwb") as stream:
        for line in stream:
            if line.rstrip(b"\r\n") != b"PING":
                return
            stream.write(b"PONG\n")
            stream.flush()


#: Clients the ``slots`` server serves at once.
SLOTS = 16
slots = threading.BoundedSemaphore(SLOTS)


def serve_slot(conn: socket.socket) -> None:
    """Answer lines; give the slot back at EOF, but not on a reset (the bug)."""
    with conn:
        try:
            serve_lines(conn)
        except ConnectionResetError:
            return  # BUG: the slot is never given back
        except OSError:
            pass
        slots.release()


def serve_lines(conn: socket.socket) -> None:
    """Answer ``OK <line>`` to every line until EOF (``ERR`` and return for one too long)."""
    buf = b""
    while chunk := conn.recv(65536):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            conn.sendall(b"OK " + line.rstrip(b"\r") + b"\n")
        if len(buf) > 8192:
            conn.sendall(b"ERR line too long\n")
            return


def serve_client(conn: socket.socket, greeting: bytes) -> None:
    with conn:
        conn.settimeout(30)
        try:
            if greeting:
                conn.sendall(greeting)
            serve_lines(conn)
        except OSError:
            return


def main() -> None:
    mode, where = sys.argv[1], sys.argv[2]
    if mode == "unix":
        if os.path.exists(where):
            os.unlink(where)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(where)
        greeting = b""
    else:
        listener = socket.create_server(("127.0.0.1", int(where)))
        greeting = b"220 wirefault test server ready\n"
    handlers = {"ping": serve_ping, "slots": serve_slot}
    handler = handlers.get(mode, lambda c: serve_client(c, greeting))
    listener.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            if mode == "slots":
                slots.acquire()  # wait for a free slot before accepting
            conn, _ = listener.accept()
            threading.Thread(target=handler, args=(conn,), daemon=True).start()
    finally:
        listener.close()
        if mode == "unix" and os.path.exists(where):
            os.unlink(where)


if __name__ == "__main__":
    main()
