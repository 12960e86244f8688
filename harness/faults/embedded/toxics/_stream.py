"""The plumbing every TCP toxic runs on: chunks, queues and the per-connection stub.

One direction of one connection is a chain (see ``harness/faults/embedded/_link.py``)::

    reader > ChunkQueue > stub > ChunkQueue > stub > ChunkQueue > writer

Each stub runs one :class:`StreamToxic` for one connection and direction, as
its own task. A toxic reads items with :meth:`StreamStub.recv`, waits with
:meth:`StreamStub.sleep` and passes items on with :meth:`StreamStub.send`.
Both waits return early when the toxic is removed (the stub is
*interrupted*); the toxic then passes on whatever it holds and returns, so no
data is lost. Queues are unbounded, so ``send`` never blocks; the link bounds
memory by pausing its reader when the bytes queued on it grow too large.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeVar

from wirefault.faults.toxics import Toxic

__all__ = [
    "STREAM_TOXICS",
    "ByteGauge",
    "Chunk",
    "ChunkQueue",
    "End",
    "Item",
    "StreamStub",
    "StreamToxic",
    "register_stream",
]

log = logging.getLogger("wirefault.embedded")

T = TypeVar("T", bound=Toxic)
S = TypeVar("S", bound="StreamToxic")

EndKind = Literal["eof", "close", "reset"]


@dataclass(frozen=True)
class Chunk:
    """Bytes read from one side.

    Attributes:
        data: the bytes.
        offset: position of ``data[0]`` in the stream, counting from 0 at connect.
        at: loop time (s) the bytes were read, or became due after a delay.
        cut: a toxic cut the stream here on purpose (split, slicer): the writer lets
            the destination read what came before, so that this piece is a read of
            its own (see ``Sink.wait_read``).
    """

    data: bytes
    offset: int
    at: float
    cut: bool = False


@dataclass(frozen=True)
class End:
    """The end of a direction, passed down the chain after the last chunk.

    ``eof``: the source half-closed; the writer half-closes the destination.
    ``close``: a toxic ends the whole connection (both sides get a FIN).
    ``reset``: a toxic resets the whole connection (both sides get an RST).
    """

    kind: EndKind


Item = Chunk | End


class ByteGauge:
    """Bytes queued on one link; pauses the link's reader above a high-water mark."""

    HIGH = 1 << 20
    LOW = 1 << 18

    def __init__(self) -> None:
        self.nbytes = 0
        self.pause: Callable[[], None] | None = None
        self.resume: Callable[[], None] | None = None
        self._paused = False

    def add(self, n: int) -> None:
        """Count ``n`` more queued bytes."""
        self.nbytes += n
        if self.nbytes > self.HIGH and not self._paused and self.pause is not None:
            self._paused = True
            self.pause()

    def sub(self, n: int) -> None:
        """Count ``n`` bytes taken off a queue."""
        self.nbytes -= n
        if self._paused and self.nbytes <= self.LOW and self.resume is not None:
            self._paused = False
            self.resume()


class ChunkQueue:
    """An unbounded FIFO of items with a single consumer that can be woken early."""

    def __init__(self, gauge: ByteGauge) -> None:
        self._items: deque[Item] = deque()
        self._gauge = gauge
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> None:
        """Append ``item`` and wake the consumer."""
        self._items.append(item)
        if isinstance(item, Chunk):
            self._gauge.add(len(item.data))
        self.poke()

    def pop(self) -> Item | None:
        """The oldest item, or None when empty."""
        if not self._items:
            return None
        item = self._items.popleft()
        if isinstance(item, Chunk):
            self._gauge.sub(len(item.data))
        return item

    async def wait(self) -> None:
        """Return when an item is queued or :meth:`poke` is called."""
        if self._items:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def poke(self) -> None:
        """Wake the consumer if it is waiting."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class StreamStub:
    """One toxic on one connection and direction: its queues, state and random draws.

    Attributes:
        toxic: the toxic's configuration (shared by all its stubs).
        rng: this stub's own random generator, seeded from the toxic's seed and
            the connection's index.
        input: where the stub reads from.
        output: where the stub writes to (re-pointed when toxics are added or removed).
        task: the task running the toxic.
    """

    def __init__(
        self,
        toxic: Toxic,
        impl: StreamToxic,
        rng: random.Random,
        input: ChunkQueue,
        output: ChunkQueue,
        reset: Callable[[], None],
    ) -> None:
        self.toxic = toxic
        self.impl = impl
        self.rng = rng
        self.input = input
        self.output = output
        self.task: asyncio.Task[None] | None = None
        self._reset = reset
        self._interrupted = False
        self._sleeper: asyncio.Future[bool] | None = None

    @property
    def interrupted(self) -> bool:
        """Whether the toxic is being removed."""
        return self._interrupted

    def config(self, cls: type[T]) -> T:
        """The toxic's configuration as its own class.

        Raises:
            TypeError: the stub runs a toxic of another class (a registry bug).
        """
        if not isinstance(self.toxic, cls):
            raise TypeError(f"stub holds {type(self.toxic).__name__}, not {cls.__name__}")
        return self.toxic

    @staticmethod
    def now() -> float:
        """The loop's clock, in seconds (the clock of :attr:`Chunk.at`)."""
        return asyncio.get_running_loop().time()

    async def recv(self, timeout: float | None = None) -> Item | None:
        """The next item; None when interrupted or, with ``timeout`` (s), when none came in time."""
        deadline = None if timeout is None else self.now() + timeout
        while not self._interrupted:
            item = self.input.pop()
            if item is not None:
                return item
            if deadline is None:
                await self.input.wait()
                continue
            remaining = deadline - self.now()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self.input.wait(), remaining)
            except asyncio.TimeoutError:
                return None
        return None

    def send(self, item: Item) -> None:
        """Pass ``item`` to the next stub (or the writer)."""
        self.output.put(item)

    async def sleep(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: until interrupted); False when interrupted first."""
        if self._interrupted:
            return False
        if seconds is not None and seconds <= 0:
            return True
        loop = asyncio.get_running_loop()
        sleeper: asyncio.Future[bool] = loop.create_future()
        self._sleeper = sleeper
        timer = None if seconds is None else loop.call_later(seconds, _resolve, sleeper, True)
        try:
            return await sleeper
        finally:
            self._sleeper = None
            if timer is not None:
                timer.cancel()

    def reset_connection_later(self, seconds: float) -> None:
        """Reset the whole connection (RST both sides) after ``seconds``, even once removed."""
        asyncio.get_running_loop().call_later(max(seconds, 0.0), self._reset)

    def interrupt(self) -> None:
        """Ask the toxic to pass on what it holds and return (it is being removed)."""
        self._interrupted = True
        self.input.poke()
        if self._sleeper is not None:
            _resolve(self._sleeper, False)

    async def run(self) -> None:
        """Run the toxic until it returns; an unexpected error resets the connection."""
        try:
            await self.impl.pipe(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("toxic %s failed; resetting its connection", self.toxic.key)
            self._reset()


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


class StreamToxic(abc.ABC):
    """How one toxic type behaves on a TCP stream. Stateless: state lives on the stub."""

    #: The toxic type name, as in :data:`wirefault.faults.toxics.TOXICS`.
    type: ClassVar[str] = ""

    @abc.abstractmethod
    async def pipe(self, stub: StreamStub) -> None:
        """Move items from ``stub.input`` to ``stub.output`` until an End or an interrupt.

        On interrupt, pass on every item held, then return; never drop data
        because of an interrupt.
        """

    def cleanup(self, stub: StreamStub) -> None:  # noqa: B027 - optional hook, no-op by default
        """Called once when the toxic is removed from a connection it was still running on."""


#: TCP toxic implementations by type name.
STREAM_TOXICS: dict[str, StreamToxic] = {}


def register_stream(cls: type[S]) -> type[S]:
    """Class decorator: register one instance of ``cls`` under ``cls.type``."""
    STREAM_TOXICS[cls.type] = cls()
    return cls
