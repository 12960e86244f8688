"""One direction of one proxied TCP connection: a chain of toxic stubs.

::

    source socket > feed() > stub > stub > ... > pump() > destination socket
                      (one ChunkQueue in front of each stub, one before the pump)

Toxics are added at the end of the chain and removed from anywhere in it
while data flows: a removed stub is interrupted, hands on what it holds, and
its unread input moves to its output queue, so nothing is lost or reordered.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Protocol

from wirefault.faults.embedded.toxics import (
    STREAM_TOXICS,
    ByteGauge,
    Chunk,
    ChunkQueue,
    End,
    StreamStub,
)
from wirefault.faults.toxics import Stream, Toxic

__all__ = ["Link", "Sink"]


class Sink(Protocol):
    """Where a link writes: one side of the connection."""

    async def write(self, data: bytes) -> None:
        """Write ``data``, waiting while the socket's buffer is full."""

    def write_now(self, data: bytes) -> bool:
        """Write ``data`` if the socket's buffer has room; whether it did."""

    async def wait_read(self) -> None:
        """Before a piece a toxic cut off: wait (bounded) until the peer read all before it."""


class Link:
    """The chain of toxics for one stream (``upstream`` or ``downstream``) of one connection.

    Args:
        stream: which direction this link carries.
        on_end: called with this link and the End that reaches the destination.
        reset: resets the whole connection (for toxics and their errors).
    """

    def __init__(
        self, stream: Stream, on_end: Callable[[Link, End], None], reset: Callable[[], None]
    ) -> None:
        self.stream = stream
        self.gauge = ByteGauge()
        self.stubs: list[StreamStub] = []
        self._tail = ChunkQueue(self.gauge)
        self._head = self._tail
        self._offset = 0
        self._on_end = on_end
        self._reset = reset
        self._pump: asyncio.Task[None] | None = None
        self._sink: Sink | None = None
        self._idle = False  # the pump waits on an empty tail queue
        #: Set once the End was handed to the destination; toxics are no longer added.
        self.ended = False

    # -- input -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes read from the source."""
        offset, self._offset = self._offset, self._offset + len(data)
        # Fast path: no toxics and nothing in flight, so writing now keeps the order.
        idle = self._idle and not self.stubs and not len(self._tail)
        if idle and self._sink is not None and self._sink.write_now(data):
            return
        self._head.put(Chunk(data, offset, asyncio.get_running_loop().time()))

    def feed_end(self) -> None:
        """The source half-closed (EOF)."""
        self._head.put(End("eof"))

    # -- toxics ------------------------------------------------------------------------------

    def add(self, toxic: Toxic, rng: random.Random, index: int | None = None) -> None:
        """Put a stub running ``toxic`` into the chain at ``index`` (default: the end); start it.

        What is queued past that point already does not go through the new toxic.
        """
        index = len(self.stubs) if index is None else index
        impl = STREAM_TOXICS[toxic.type]
        queue = ChunkQueue(self.gauge, in_flight=impl.delays)
        after = self.stubs[index].input if index < len(self.stubs) else self._tail
        stub = StreamStub(toxic, impl, rng, queue, after, self._reset)
        if index > 0:
            self.stubs[index - 1].output = queue
        else:
            self._head = queue
        self.stubs.insert(index, stub)
        stub.start()

    def find(self, key: str) -> StreamStub | None:
        """The stub running the toxic called ``key``, if this link has one."""
        return next((s for s in self.stubs if s.toxic.key == key), None)

    async def remove(self, key: str, *, cleanup: bool = True) -> None:
        """Take the stub for toxic ``key`` out of the chain (no-op if it has none).

        With ``cleanup``, a toxic that was still running gets its cleanup (a
        removed ``timeout`` closes the connection); without, it just stops, as
        when an update no longer selects this connection.
        """
        stub = self.find(key)
        if stub is None:
            return
        running = await stub.stop()
        if running and cleanup:
            stub.impl.cleanup(stub)
        # Between here and the end nothing awaits: the splice below is atomic.
        while (item := stub.input.pop()) is not None:
            stub.output.put(item)
        index = self.stubs.index(stub)
        if index == 0:
            self._head = stub.output
        else:
            self.stubs[index - 1].output = stub.output
        del self.stubs[index]

    async def update(self, toxic: Toxic) -> bool:
        """Run the stub of ``toxic.key`` on with ``toxic``'s attributes; False if there is none.

        The old run passes on what it holds (a chunk waiting out its latency
        leaves at once, as in Toxiproxy); the stub keeps its place, its queue,
        its random generator and :attr:`StreamStub.state`. A toxic that had ended
        (after the End, or an armed reset) is not started again.
        """
        stub = self.find(toxic.key)
        if stub is None:
            return False
        running = await stub.stop()
        stub.toxic = toxic
        if running:
            stub.start()
        return True

    # -- output ------------------------------------------------------------------------------

    def start(self, sink: Sink) -> None:
        """Start writing what leaves the chain to ``sink``."""
        self._sink = sink
        self._pump = asyncio.get_running_loop().create_task(
            self._run_pump(sink), name=f"wirefault-pump-{self.stream}"
        )

    async def _run_pump(self, sink: Sink) -> None:
        while True:
            item = self._tail.pop()
            if item is None:
                self._idle = True
                try:
                    await self._tail.wait()
                finally:
                    self._idle = False
            elif isinstance(item, Chunk):
                if item.cut:
                    await sink.wait_read()
                await sink.write(item.data)
            else:
                self.ended = True
                self._on_end(self, item)
                return

    def cancel(self) -> None:
        """Stop every task of this link (the connection is going away)."""
        for stub in self.stubs:
            if stub.task is not None:
                stub.task.cancel()
        if self._pump is not None:
            self._pump.cancel()
