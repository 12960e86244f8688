"""The plumbing every UDP toxic runs on: datagrams and the per-flow stub.

One direction of one client flow is a chain of stubs ending in a sink (a
``send`` on a socket). A stub hands each datagram to its toxic's
:meth:`DatagramToxic.feed`, which passes it on with :meth:`DatagramStub.emit`
(now, later, several times, or never). Everything runs on the event loop, so
no locks; held datagrams are released, not dropped, when the toxic is removed.
"""

from __future__ import annotations

import abc
import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from wirefault.faults.toxics import Toxic

__all__ = [
    "DATAGRAM_TOXICS",
    "Datagram",
    "DatagramStub",
    "DatagramToxic",
    "chosen",
    "register_datagram",
]

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
        buffer: datagrams a toxic holds back (reorder).
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

    def hold(self, dgram: Datagram, seconds: float) -> None:
        """Emit ``dgram`` after ``seconds``."""
        self._serial += 1
        key = self._serial
        handle = asyncio.get_running_loop().call_later(seconds, self._due, key)
        self._later[key] = (handle, dgram)

    def _due(self, key: int) -> None:
        _, dgram = self._later.pop(key)
        self.emit(dgram)

    def release(self) -> None:
        """Emit everything held, in arrival order (the toxic is being removed)."""
        held = [dgram for _, dgram in self._later.values()] + self.buffer
        self.cancel()
        for dgram in sorted(held, key=lambda d: d.index):
            self.emit(dgram)

    def cancel(self) -> None:
        """Forget everything held and stop every timer (the flow is closing)."""
        for handle, _ in self._later.values():
            handle.cancel()
        self._later.clear()
        self.buffer = []
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
