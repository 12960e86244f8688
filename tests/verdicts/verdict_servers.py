"""Correct servers that a careless harness would blame, run as scripts for the verdict tests.

``python verdict_servers.py KIND PORT`` serves on 127.0.0.1:PORT (0: any free
port), prints ``listening on 127.0.0.1:PORT`` and serves until SIGTERM. Kinds:

``line-64k``        asyncio line server whose line limit is 64 KiB (the codec's is 8 KiB):
                    ``OK <line>`` per line, ``ERR line too long`` and a close past it.
``line-uncapped``   threaded line echo with no line limit at all.
``prefix-wait``     frames of a 2-byte big-endian length and a body, echoed; it waits,
                    rightly, for the rest of a frame (fuzzed with ``--codec raw``).
``one-at-a-time``   a line server that serves one connection at a time, listen backlog 0.
``busy-one-at-a-time`` the same, but the line ``busy`` keeps it busy for BUSY_SECONDS
                    before it answers (and before it serves anyone else).
``udp-fresh-port``  UDP echo that answers each datagram from a fresh socket (TFTP style).
``udp-fresh-crash`` the same, but a 1-byte datagram kills it (exit status 3).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time

#: How long the line ``busy`` keeps ``busy-one-at-a-time`` busy.
BUSY_SECONDS = 0.3


def _listening(port: int) -> None:
    print(f"listening on 127.0.0.1:{port}", flush=True)


# -- line servers ---------------------------------------------------------------------------------


async def _line_64k(port: int) -> None:
    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    writer.write(b"ERR line too long\n")
                    break
                except asyncio.IncompleteReadError:
                    break
                writer.write(b"OK " + line.rstrip(b"\r\n") + b"\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", port, limit=64 * 1024)
    _listening(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _serve_threads(listener: socket.socket, handle: object) -> None:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def _uncapped(conn: socket.socket) -> None:
    with conn:
        buffer = b""
        try:
            while data := conn.recv(65536):
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    conn.sendall(line.rstrip(b"\r") + b"\n")
        except OSError:
            return


def _prefix_wait(conn: socket.socket) -> None:
    with conn:
        buffer = b""
        try:
            while data := conn.recv(65536):
                buffer += data
                while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
                    end = 2 + int.from_bytes(buffer[:2], "big")
                    conn.sendall(buffer[:end])
                    buffer = buffer[end:]
        except OSError:
            return


def _one_at_a_time(listener: socket.socket, *, busy: float = 0.0) -> None:
    while True:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5.0)
            buffer = b""
            try:
                while data := conn.recv(65536):
                    buffer += data
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if busy and line == b"busy":
                            time.sleep(busy)  # a long computation, however the client is gone
                        conn.sendall(b"OK " + line.rstrip(b"\r") + b"\n")
                    if len(buffer) > 8193:
                        conn.sendall(b"ERR line too long\n")
                        break
            except OSError:
                continue


# -- UDP ------------------------------------------------------------------------------------------


def _udp_fresh_port(port: int, *, crash_on_one_byte: bool) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", port))
    _listening(listener.getsockname()[1])
    while True:
        data, client = listener.recvfrom(65535)
        if crash_on_one_byte and len(data) == 1:
            os._exit(3)  # the bug: a one-byte datagram kills the server
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as reply:
            reply.bind(("127.0.0.1", 0))  # a fresh port per answer, as TFTP servers do
            reply.sendto(data, client)


def main() -> None:
    """Run the server KIND on PORT (see the module docstring)."""
    kind, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if kind == "line-64k":
        asyncio.run(_line_64k(port))
    elif kind.startswith("udp-"):
        _udp_fresh_port(port, crash_on_one_byte=kind == "udp-fresh-crash")
    else:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(0 if kind.endswith("one-at-a-time") else 64)
        _listening(listener.getsockname()[1])
        if kind == "one-at-a-time":
            _one_at_a_time(listener)
        elif kind == "busy-one-at-a-time":
            _one_at_a_time(listener, busy=BUSY_SECONDS)
        else:
            handlers = {"line-uncapped": _uncapped, "prefix-wait": _prefix_wait}
            _serve_threads(listener, handlers[kind])


if __name__ == "__main__":
    main()
