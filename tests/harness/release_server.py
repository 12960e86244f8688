"""A line server for the release tests: what it does with a connection its client reset.

Run as ``python release_server.py MODE``; it listens on a free loopback port, prints
``listening on 127.0.0.1:PORT``, and answers ``OK <line>`` to every line. MODE says
what becomes of a connection whose client resets it:

* ``close``: closed at once (one thread per client);
* ``leak``: kept open for ever in a list of clients, its thread gone (a descriptor leak);
* ``edge``: one thread on edge-triggered epoll that ignores a hang-up and leaves the
  connection to an idle timer of 60 s: still open, but still watched;
* ``reaper-timer``: handed to a reaper thread that closes dead connections every
  0.3 s, asleep in libc's ``usleep`` between rounds (a timer of its own);
* ``reaper-wait``: the same reaper, waiting on a condition with a 0.3 s timeout
  instead (a futex: it looks idle in between).
"""

from __future__ import annotations

import ctypes
import select
import socket
import sys
import threading

MODE = sys.argv[1]
REAP_EVERY = 0.3
IDLE_TIMEOUT = 60.0

kept: list[socket.socket] = []
dead: list[socket.socket] = []
lock = threading.Lock()
wake = threading.Condition(lock)


def answer(conn: socket.socket) -> None:
    """Answer lines until EOF; on a reset, do what MODE says."""
    buffer = b""
    try:
        while data := conn.recv(65536):
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                conn.sendall(b"OK " + line + b"\n")
    except ConnectionResetError:
        if MODE == "leak":
            kept.append(conn)
            return
        if MODE.startswith("reaper"):
            with lock:
                dead.append(conn)
            return
    conn.close()


def reap() -> None:
    """Close the dead connections every REAP_EVERY seconds."""
    usleep = ctypes.CDLL(None).usleep
    while True:
        if MODE == "reaper-timer":
            usleep(int(REAP_EVERY * 1_000_000))
        else:
            with wake:
                wake.wait(REAP_EVERY)
        with lock:
            while dead:
                dead.pop().close()


def serve_edge(listener: socket.socket) -> None:
    """One thread, edge-triggered epoll; a hang-up is left to the idle timer."""
    poller = select.epoll()
    poller.register(listener, select.EPOLLIN)
    conns: dict[int, socket.socket] = {}
    flags = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET
    while True:
        for fd, events in poller.poll(IDLE_TIMEOUT):
            if fd == listener.fileno():
                conn, _ = listener.accept()
                conn.setblocking(False)
                conns[conn.fileno()] = conn
                poller.register(conn, flags)
                continue
            if events & (select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP):
                continue  # closed at the idle timer, some day
            conn = conns[fd]
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            for line in data.split(b"\n")[:-1]:
                conn.sendall(b"OK " + line + b"\n")


def main() -> None:
    """Listen, announce, serve."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    if MODE == "edge":
        serve_edge(listener)
        return
    if MODE.startswith("reaper"):
        threading.Thread(target=reap, daemon=True).start()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
