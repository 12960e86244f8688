"""A line server in a process of its own, for the tests of a quiet server's silence.

Run as ``python quiet_server.py MODE``. It binds 127.0.0.1:0, prints
``listening on HOST:PORT`` and serves one client at a time:

* ``silent``: reads every request and never answers.
* ``spin``: reads a request, computes for 0.15 s of its own CPU time, then answers
  ``done``: silent on its sockets all the while, but busy.
* ``bursts``: reads a request, then for 0.3 s computes 1 ms at a time with 0.5 ms
  sleeps in between (libc's ``usleep()``, as ``sleepy``: Python 3.10's ``time.sleep``
  would sleep in ``select()``, which looks like an event loop's wait), then answers
  ``done``: asleep at some moments, working through.
* ``answer``: answers every request at once with ``done``.
* ``sleepy``: reads a request, sleeps 0.2 s in libc's ``usleep()``, then answers
  ``done`` (a handler's sleep: asleep, no CPU, but on a timer of its own; libc's,
  as Python 3.10's ``time.sleep`` sleeps in ``select()``).
* ``deaf``: accepts a client and never reads from it.
* ``udp-silent``: a UDP server that reads every datagram and never answers.
* ``elsewhere``: the server is ``silent``, but runs in a grandchild that has left
  this process's tree (as a daemon does), while this process only waits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time


def serve(mode: str) -> None:
    """Listen, say where, and serve clients one after another."""
    if mode == "udp-silent":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", flush=True)
            while True:
                sock.recvfrom(65536)
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        if mode == "deaf":
            signal.pause()  # asleep on no timer: it will never go on by itself
        with conn:
            while conn.recv(65536):
                if mode == "answer":
                    conn.sendall(b"done\n")
                elif mode == "sleepy":
                    ctypes.CDLL(None).usleep(200_000)
                    conn.sendall(b"done\n")
                elif mode == "spin":
                    _compute(0.15)
                    conn.sendall(b"done\n")
                elif mode == "bursts":
                    until = time.monotonic() + 0.3
                    while time.monotonic() < until:
                        _compute(0.001)
                        ctypes.CDLL(None).usleep(500)  # as "sleepy": on a timer, every Python
                    conn.sendall(b"done\n")


def _compute(seconds: float) -> None:
    began = time.process_time()
    while time.process_time() - began < seconds:
        pass


def main() -> None:
    """Serve in ``sys.argv[1]``'s mode."""
    mode = sys.argv[1]
    if mode != "elsewhere":
        serve(mode)
        return
    if os.fork() == 0:
        if os.fork() == 0:
            serve("silent")
        os._exit(0)  # the server is orphaned: no longer in our tree
    os.wait()
    signal.pause()


if __name__ == "__main__":
    main()
