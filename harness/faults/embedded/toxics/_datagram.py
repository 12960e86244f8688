"""The plumbing every UDP toxic runs on: datagrams and the per-flow stub.

One direction of one client flow is a chain of stubs ending in a sink (a
``send`` on a socket). A stub hands each datagram to its toxic's
:meth:`DatagramToxic.feed`, which passes it on with :meth:`DatagramStub.emit`
(now, later, several times, or never). Everything runs on the event loop, so
no locks; held datagrams are released, not dropped, when the toxic is removed.

What a stub holds back (``delay``'s datagrams, ``reorder``'s group) is bounded
by :data:`HELD_BYTES` and :data:`HELD_DATAGRAMS` per flow and direction: a
delay lets everything through late, whatever the rate, until that much waits;
a datagram that would go over is lost, as a full router queue drops it.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from wirefault.faults.toxics import Toxic

__all__ = [
    "DATAGRAM_TOXICS",
    "HELD_BYTES",
    "HELD_DATAGRAMS",
    "Datagram",
    "DatagramStub",
    "DatagramToxic",
    "chosen",
    "register_datagram",
]

log = logging.getLogger("wirefault.embedded")

#: Bytes one stub may hold back (per flow and direction), as the TCP in-flight budget.
HELD_BYTES = 32 << 20
#: Datagrams one stub may hold back.
HELD_DATAGRAMS = 16384

T = TypeVar("T", bound=Toxic)
D = TypeVar("D", bound="DatagramToxic")


@dataclass(frozen=True)
class Datagram:
    """One datagram and its index in its flow and direction (from 0, as received)."""

    data: bytes
    index: int


class DatagramStub:
    """One UDP toxic on one client flow and direction.

    Attributes:
        toxic: the toxic's configuration (shared by all its stubs).
        rng: ``random.Random(toxic.seed or 0)``, one per flow and direction.
        next: where :meth:`emit` sends (re-pointed when toxics are added or removed).
        buffer: datagrams a toxic holds back (reorder): add with :meth:`keep`, empty
            with :meth:`take_buffer`, so that :attr:`held` stays right.
        timer: the toxic's one pending timer, if any (reorder's flush).
    """

    def __init__(self, toxic: Toxic, impl: DatagramToxic, rng: random.Random) -> None:
        self.toxic = toxic
        self.impl = impl
        self.rng = rng
        self.next: Callable[[Datagram], None] = _nowhere
        self.buffer: list[Datagram] = []
        self.timer: asyncio.TimerHandle | None = None
        self._later: dict[int, tuple[asyncio.TimerHandle, Datagram]] = {}
        self._serial = 0
        self._later_bytes = 0
        self._buffer_bytes = 0

    def config(self, cls: type[T]) -> T:
        """The toxic's configuration as its own class.

        Raises:
            TypeError: the stub runs a toxic of another class (a registry bug).
        """
        if not isinstance(self.toxic, cls):
            raise TypeError(f"stub holds {type(self.toxic).__name__}, not {cls.__name__}")
        return self.toxic

    def feed(self, dgram: Datagram) -> None:
        """A datagram arrives at this toxic."""
        self.impl.feed(self, dgram)

    def emit(self, dgram: Datagram) -> None:
        """Pass ``dgram`` to the next toxic (or the socket)."""
        self.next(dgram)

    @property
    def held(self) -> tuple[int, int]:
        """``(datagrams, bytes)`` this stub holds back now (timed and buffered)."""
        return len(self._later) + len(self.buffer), self._later_bytes + self._buffer_bytes

    def keep(self, dgram: Datagram) -> None:
        """Add ``dgram`` to :attr:`buffer` (counted in :attr:`held`)."""
        self.buffer.append(dgram)
        self._buffer_bytes += len(dgram.data)

    def take_buffer(self) -> list[Datagram]:
        """Empty :attr:`buffer`; what it held, in order."""
        taken, self.buffer, self._buffer_bytes = self.buffer, [], 0
        return taken

    def room_for(self, dgram: Datagram) -> bool:
        """Whether holding ``dgram`` too stays within the caps (``HELD_*``)."""
        count, size = self.held
        return count < HELD_DATAGRAMS and size + len(dgram.data) <= HELD_BYTES

    def hold(self, dgram: Datagram, seconds: float) -> None:
        """Emit ``dgram`` after ``seconds``; lose it if the stub holds its fill already."""
        if not self.room_for(dgram):
            log.debug("toxic %s holds its fill; datagram %d lost", self.toxic.key, dgram.index)
            return
        self._serial += 1
        key = self._serial
        handle = asyncio.get_running_loop().call_later(seconds, self._due, key)
        self._later[key] = (handle, dgram)
        self._later_bytes += len(dgram.data)

    def _due(self, key: int) -> None:
        _, dgram = self._later.pop(key)
        self._later_bytes -= len(dgram.data)
        self.emit(dgram)

    def release(self) -> None:
        """Emit everything held, in arrival order (the toxic is being removed)."""
        held = [dgram for _, dgram in self._later.values()] + self.take_buffer()
        self.cancel()
        for dgram in sorted(held, key=lambda d: d.index):
            self.emit(dgram)

    def cancel(self) -> None:
        """Forget everything held and stop every timer (the flow is closing)."""
        for handle, _ in self._later.values():
            handle.cancel()
        self._later.clear()
        self._later_bytes = 0
        self.take_buffer()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _nowhere(dgram: Datagram) -> None:
    """The sink of a stub not yet linked: drop."""


def chosen(
    stub: DatagramStub, dgram: Datagram, indices: tuple[int, ...] | None, probability: float
) -> bool:
    """Whether a toxic selects ``dgram``: by index first, then by a seeded draw."""
    if indices is not None and dgram.index not in indices:
        return False
    return stub.rng.random() < probability


class DatagramToxic(abc.ABC):
    """How one toxic type treats datagrams. Stateless: state lives on the stub."""

    #: The toxic type name, as in :data:`wirefault.faults.toxics.TOXICS`.
    type: ClassVar[str] = ""

    @abc.abstractmethod
    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Handle one datagram: ``stub.emit`` it (changed, later, repeated) or drop it."""


#: UDP toxic implementations by type name.
DATAGRAM_TOXICS: dict[str, DatagramToxic] = {}


def register_datagram(cls: type[D]) -> type[D]:
    """Class decorator: register one instance of ``cls`` under ``cls.type``."""
    DATAGRAM_TOXICS[cls.type] = cls()
    return cls
