"""The plumbing every TCP toxic runs on: chunks, queues and the per-connection stub.

One direction of one connection is a chain (see ``harness/faults/embedded/_link.py``)::

    reader > ChunkQueue > stub > ChunkQueue > stub > ChunkQueue > writer

Each stub runs one :class:`StreamToxic` for one connection and direction, as
its own task. A toxic reads items with :meth:`StreamStub.recv`, waits with
:meth:`StreamStub.sleep` and passes items on with :meth:`StreamStub.send`.
Both waits return early when the toxic is removed (the stub is
*interrupted*); the toxic then passes on whatever it holds and returns, so no
data is lost. Queues are unbounded, so ``send`` never blocks; the link bounds
memory by pausing its reader (see :class:`ByteGauge`) on either of two budgets:
bytes *queued* because the next stage is slower (1 MiB), and bytes *in flight*,
held by a toxic that delays them until they are due (32 MiB or 16,384 chunks).
Keeping the second budget large is what lets a stream through ``latency`` run at
full speed: a proxy holding B bytes through L seconds of delay cannot go faster
than B / L.
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


@dataclass(frozen=True, slots=True)
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
    """What one link holds; pauses the link's reader while either budget is spent.

    * *queued* bytes wait for the next stage (a slow toxic, a full socket):
      the reader pauses above :attr:`HIGH` and resumes at :attr:`LOW`, so a slow
      destination slows the source;
    * bytes *in flight* are held by a toxic that delays them (``latency``)
      until they are due. They need room for the whole delay — at a rate R
      through a delay L, R x L bytes — so their budget is much larger:
      :attr:`IN_FLIGHT_BYTES` and :attr:`IN_FLIGHT_CHUNKS` per link (one
      connection, one direction), about what Toxiproxy's latency toxic holds
      (1,024 chunks of up to 32 KiB). Past it a stream through L seconds of
      delay runs at about IN_FLIGHT_BYTES / L, as it does through Toxiproxy.

    So a link holds at most IN_FLIGHT_BYTES + HIGH bytes and one read more
    (what was in flight when the reader paused may still come due behind a
    slow destination).
    """

    HIGH = 1 << 20
    LOW = 1 << 18
    IN_FLIGHT_BYTES = 32 << 20
    IN_FLIGHT_CHUNKS = 16384

    def __init__(self) -> None:
        self.nbytes = 0
        self.in_flight = 0
        self.in_flight_chunks = 0
        self.pause: Callable[[], None] | None = None
        self.resume: Callable[[], None] | None = None
        self._paused = False

    @property
    def paused(self) -> bool:
        """Whether the gauge has paused the reader."""
        return self._paused

    def add(self, n: int, *, in_flight: bool = False) -> None:
        """Count ``n`` more bytes (one chunk), queued or in flight."""
        if in_flight:
            self.in_flight += n
            self.in_flight_chunks += 1
        else:
            self.nbytes += n
        if not self._paused and self.pause is not None and self._over():
            self._paused = True
            self.pause()

    def sub(self, n: int, *, in_flight: bool = False) -> None:
        """Count ``n`` bytes (one chunk) taken off a queue."""
        if in_flight:
            self.in_flight -= n
            self.in_flight_chunks -= 1
        else:
            self.nbytes -= n
        if self._paused and self.resume is not None and self._under():
            self._paused = False
            self.resume()

    def _over(self) -> bool:
        return (
            self.nbytes > self.HIGH
            or self.in_flight > self.IN_FLIGHT_BYTES
            or self.in_flight_chunks > self.IN_FLIGHT_CHUNKS
        )

    def _under(self) -> bool:
        # Resume with room for a good part of each budget again, not at the first byte.
        return (
            self.nbytes <= self.LOW
            and self.in_flight <= self.IN_FLIGHT_BYTES * 3 // 4
            and self.in_flight_chunks <= self.IN_FLIGHT_CHUNKS * 3 // 4
        )


class ChunkQueue:
    """An unbounded FIFO of items with a single consumer that can be woken early.

    Args:
        gauge: the link's gauge, told of every chunk put and popped.
        in_flight: the queue feeds a toxic that delays what it holds (its
            chunks count against the gauge's in-flight budget).
    """

    def __init__(self, gauge: ByteGauge, *, in_flight: bool = False) -> None:
        self._items: deque[Item] = deque()
        self._gauge = gauge
        self._in_flight = in_flight
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> None:
        """Append ``item`` and wake the consumer."""
        self._items.append(item)
        if isinstance(item, Chunk):
            self._gauge.add(len(item.data), in_flight=self._in_flight)
        self.poke()

    def pop(self) -> Item | None:
        """The oldest item, or None when empty."""
        if not self._items:
            return None
        item = self._items.popleft()
        if isinstance(item, Chunk):
            self._gauge.sub(len(item.data), in_flight=self._in_flight)
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
        state: counters a toxic keeps for its connection across an update of its
            attributes (``limit_data``'s bytes sent), as Toxiproxy's stub state.
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
        self.state: dict[str, int] = {}
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

    def start(self) -> None:
        """Run the toxic in a task of its own (the stub is linked into its chain)."""
        self._interrupted = False
        self.task = asyncio.get_running_loop().create_task(
            self.run(), name=f"wirefault-toxic-{self.toxic.key}"
        )

    async def stop(self) -> bool:
        """Interrupt the toxic and wait until it has passed on what it held.

        Returns:
            Whether it was still running (False: it had ended already).
        """
        running = self.task is not None and not self.task.done()
        self.interrupt()
        if self.task is not None:
            await asyncio.wait([self.task])
        return running

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
    #: Whether the toxic holds data back until it is due (``latency``): what waits
    #: for it is *in flight*, with the large budget of :class:`ByteGauge`.
    delays: ClassVar[bool] = False

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
