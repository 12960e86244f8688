"""A TCP echo server on asyncio streams, with back-pressure from ``drain()`` and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from wirefault.targets._serving import (
    STOP_SIGNALS,
    Ready,
    family_for,
    idle_timeout,
    signals_deferred,
)

NAME = "echo-asyncio"
PROTOCOL = "raw"
TRANSPORT = "tcp"

CHUNK = 65536  # the most one read() returns, and the StreamReader's buffer limit

log = logging.getLogger(NAME)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle: float) -> None:
    """Echo one client until it closes, goes quiet, or breaks the connection."""
    try:
        while True:
            # wait_for bounds every wait: a silent client, or one that stops reading
            # our echo, is dropped after `idle` seconds instead of holding a task forever.
            data = await asyncio.wait_for(reader.read(CHUNK), idle)
            if not data:
                # EOF: the client half-closed. Everything before it was written and
                # drained, so closing now loses no echo.
                return
            writer.write(data)
            # write() only queues. drain() waits while the transport's buffer is above
            # its high-water mark: without it a client that never reads would make us
            # queue without bound.
            await asyncio.wait_for(writer.drain(), idle)
    except asyncio.TimeoutError:
        log.info("dropping a client idle for %g s", idle)
    except ConnectionError as exc:
        log.info("dropping a client: %s", exc)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _main(host: str, port: int, ready: Ready) -> None:
    """Listen, serve every client in a task of its own, stop on SIGINT or SIGTERM."""
    idle = idle_timeout()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # The loop's own signal handling: the signal only wakes the loop, and stop.set()
    # runs as an ordinary callback, never in the middle of a transport's bookkeeping.
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # safe to let them in now
    clients: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection callback always runs in a task
        clients[writer] = task
        try:
            await _echo(reader, writer, idle)
        finally:
            del clients[writer]

    server = await asyncio.start_server(
        on_client, host, port, family=family_for(host), reuse_address=True, limit=CHUNK
    )
    try:
        ready(server.sockets[0].getsockname()[:2])
        await stop.wait()
    finally:
        # Like run_target after a first signal: ignore repeats during the cleanup.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        server.close()  # stop accepting first, then end the clients we have
        # Abort the connections rather than cancel their tasks: each handler then sees
        # its connection end, and finishes through its own `finally` like any other.
        tasks = list(clients.values())
        for writer in list(clients):
            writer.transport.abort()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        await server.wait_closed()


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    # Held back until the loop has its own handlers in place (see _main).
    with signals_deferred():
        asyncio.run(_main(host, port, ready))
