"""A line server that answers each line with how many recv() calls it took to read it.

Run as ``python read_counting_server.py``: it binds 127.0.0.1:0, prints
``listening on 127.0.0.1:PORT`` and serves every client in its own thread,
until it is terminated. A line that arrived in one read is answered ``1``, a
line whose bytes came in two reads ``2``; bytes after a newline in the same
read count towards the next line's reads too.
"""

from __future__ import annotations

import socket
import threading


def _serve(conn: socket.socket) -> None:
    with conn:
        reads = 0
        buffer = b""
        while data := conn.recv(65536):
            reads += 1
            buffer += data
            while b"\n" in buffer:
                _, buffer = buffer.split(b"\n", 1)
                conn.sendall(b"%d\n" % reads)
                reads = 1 if buffer else 0


def main() -> None:
    """Listen on a free loopback port and serve until killed."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
