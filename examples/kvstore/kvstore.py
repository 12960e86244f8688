"""A small line-based key-value server: the "your own server" of wirefault's example project.

Protocol, one command per ``\\n``-terminated line (``\\r\\n`` accepted)::

    SET key value   ->  OK
    GET key         ->  VALUE value   or   NIL
    anything else   ->  ERR unknown command

Lines longer than 4096 bytes get ``ERR line too long`` and a close. Run it with
``python kvstore.py --port 7070``; it prints ``listening on HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

MAX_LINE = 4096
IDLE_TIMEOUT = 30.0


class Store:
    """The shared dictionary behind every connection."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def answer(self, line: bytes) -> bytes:
        """The reply to one command line (without its terminator)."""
        verb, _, rest = line.partition(b" ")
        if verb == b"SET" and b" " in rest:
            key, _, value = rest.partition(b" ")
            self.data[key] = value
            return b"OK\n"
        if verb == b"GET" and rest:
            value = self.data.get(rest)
            return b"NIL\n" if value is None else b"VALUE " + value + b"\n"
        return b"ERR unknown command\n"


async def handle(store: Store, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one client until it closes, goes idle, or sends an over-long line."""
    try:
        while True:
            try:
                line = await asyncio.wait_for(reader.readuntil(b"\n"), IDLE_TIMEOUT)
            except asyncio.LimitOverrunError:
                writer.write(b"ERR line too long\n")
                break
            except asyncio.IncompleteReadError:
                break  # EOF, possibly mid-line: every complete line was answered
            writer.write(store.answer(line.rstrip(b"\r\n")))
            await writer.drain()
        await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def main(host: str, port: int) -> None:
    """Listen on host:port until SIGINT or SIGTERM."""
    store = Store()
    server = await asyncio.start_server(
        lambda r, w: handle(store, r, w), host, port, limit=MAX_LINE
    )
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7070)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
