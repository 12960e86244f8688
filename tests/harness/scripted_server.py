"""A line server the target-manager and campaign tests script: it crashes, hangs or lingers on cue.

Run as ``python scripted_server.py PORT [options]``. It binds 127.0.0.1:PORT,
prints ``listening on HOST:PORT`` and answers each line with the same line,
one connection at a time, except for these lines:

* ``die N``: exit with status N at once.
* ``abort``: ``os.abort()`` (killed by SIGABRT).
* ``die-later S``: close this connection and the listener, exit with status 3 after S seconds.
* ``hang``: close this connection and the listener, then stay alive, answering no one.
* ``deaf``: as ``hang``, but asleep on no timer (waiting on a lock nobody releases).
* ``die-busy S``: close this connection and the listener, compute for S seconds of CPU
  time, then exit with status 3.
* ``die-napping S``: as ``die-later``, asleep in libc's ``usleep()`` (a timer of its
  own, on every Python: 3.10's ``time.sleep`` sleeps in ``select()``).
* ``wedge``: close this connection, then stay alive without accepting: the kernel
  still completes new clients' handshakes, and they wait for an answer in vain.

Options: ``--no-listen`` (never listen: a readiness timeout), ``--stderr TEXT``
(written to stderr first), ``--linger-on-term S`` (on SIGTERM, exit S seconds
later, still listening meanwhile), ``--ignore-term`` (only SIGKILL ends it).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import sys
import threading
import time


def main() -> None:
    """Parse the options and serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--no-listen", action="store_true")
    parser.add_argument("--stderr", default="")
    parser.add_argument("--linger-on-term", type=float)
    parser.add_argument("--ignore-term", action="store_true")
    args = parser.parse_args()
    if args.stderr:
        print(args.stderr, file=sys.stderr, flush=True)
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    elif args.linger_on_term is not None:
        linger = args.linger_on_term
        signal.signal(signal.SIGTERM, lambda *_: (time.sleep(linger), os._exit(0)))
    if args.no_listen:
        time.sleep(3600)
        return
    listener = socket.create_server(("127.0.0.1", args.port))
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                command = line.split()
                if command[:1] == [b"die"]:
                    os._exit(int(command[1]))
                if command[:1] == [b"abort"]:
                    os.abort()
                if command[:1] in (
                    [b"die-later"],
                    [b"hang"],
                    [b"deaf"],
                    [b"die-busy"],
                    [b"die-napping"],
                ):
                    stream.close()
                    conn.close()
                    listener.close()
                    if command[0] == b"hang":
                        time.sleep(3600)
                    if command[0] == b"deaf":
                        never = threading.Lock()
                        never.acquire()
                        never.acquire()  # never released
                    if command[0] == b"die-busy":
                        until = time.process_time() + float(command[1])
                        while time.process_time() < until:
                            pass
                    elif command[0] == b"die-napping":
                        ctypes.CDLL(None).usleep(int(float(command[1]) * 1_000_000))
                    else:
                        time.sleep(float(command[1]))
                    os._exit(3)
                if command[:1] == [b"wedge"]:
                    stream.close()
                    conn.close()
                    time.sleep(3600)
                stream.write(line)
                stream.flush()


if __name__ == "__main__":
    main()
