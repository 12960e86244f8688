"""What TCP and UDP proxies share: the toxic table and the async proxy interface.

The table decides, once per connection (TCP) or client flow (UDP) and toxic,
whether the toxic applies — its ``connection`` filter, then its toxicity —
and hands out the stub's seeded random generator. Nothing here touches the
global ``random``.

The table is the one piece of a proxy that any thread may touch: a caller
adds a toxic to it directly (so a bad or duplicate toxic fails at once, in
the caller's thread) and reads the toxics without a round trip to the loop.
Each change publishes a new immutable :class:`ToxicSnapshot` in a single
attribute assignment; connections compare its :attr:`~ToxicSnapshot.serial`
with the last one they applied before they touch any bytes (see
``ProxyCore.sync_toxics``), so a toxic applies to every byte read after
:meth:`ToxicTable.add` returned, even before the loop has run a line for it.
"""

from __future__ import annotations

import abc
import random
import threading
from dataclasses import dataclass

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.toxics import Toxic

__all__ = ["AppliedToxic", "ProxyCore", "ToxicSnapshot", "ToxicTable", "bind_error"]


@dataclass(frozen=True)
class AppliedToxic:
    """A toxic on a proxy, and how many connections the proxy had accepted when it came.

    Attributes:
        toxic: the toxic.
        base: the number of connections accepted before it was added.
        serial: its place in the order of additions to this proxy, from 1.
    """

    toxic: Toxic
    base: int
    serial: int

    def rng_for(self, seq: int) -> random.Random | None:
        """The generator for connection number ``seq``, or None if the toxic skips it.

        The connection's index *relative to the toxic* (``seq - base``: 0 for the
        first connection accepted after the toxic was added, negative for those
        already open) selects it under ``connection=N`` and, with the seed,
        seeds the toxicity draw and everything the toxic draws later.
        """
        relative = seq - self.base
        toxic = self.toxic
        if toxic.connection is not None and relative != toxic.connection:
            return None
        rng = random.Random(f"wirefault:{toxic.seed or 0}:{relative}")
        if not rng.random() < toxic.toxicity:
            return None
        return rng


@dataclass(frozen=True)
class ToxicSnapshot:
    """The toxics of a proxy at one moment; never changes once published.

    Attributes:
        serial: the :attr:`AppliedToxic.serial` of the last toxic added (0: none
            yet). A connection that has applied every toxic up to ``serial`` is
            in step; removals do not change it (they are applied by the loop
            before :meth:`ProxyCore.remove_toxic` returns).
        entries: the toxics now applied, in the order added.
    """

    serial: int = 0
    entries: tuple[AppliedToxic, ...] = ()

    def added_after(self, serial: int) -> tuple[AppliedToxic, ...]:
        """The toxics added after the one numbered ``serial`` and still applied."""
        return tuple(e for e in self.entries if e.serial > serial)


class ToxicTable:
    """The toxics of one proxy, in the order added, and its connection counter; thread-safe."""

    def __init__(self, proxy: str) -> None:
        self._proxy = proxy
        self._lock = threading.Lock()
        self._accepted = 0
        #: The current toxics; replaced (never mutated) under the lock, read without it.
        self.snapshot = ToxicSnapshot()

    @property
    def entries(self) -> tuple[AppliedToxic, ...]:
        """The applied toxics, in the order added."""
        return self.snapshot.entries

    def toxics(self) -> list[Toxic]:
        """The toxic values, in the order added."""
        return [e.toxic for e in self.snapshot.entries]

    def next_connection(self) -> int:
        """Number the next accepted connection (or new client flow), from 0."""
        with self._lock:
            seq = self._accepted
            self._accepted += 1
            return seq

    def add(self, toxic: Toxic) -> AppliedToxic:
        """Record ``toxic``; from now on every connection applies it before it forwards a byte.

        Raises:
            FaultLayerError: a toxic of that name is already on the proxy.
        """
        with self._lock:
            now = self.snapshot
            if any(e.toxic.key == toxic.key for e in now.entries):
                raise FaultLayerError(
                    f"proxy {self._proxy!r} already has a toxic named {toxic.key!r}; "
                    "remove it first or give the new toxic another name"
                )
            entry = AppliedToxic(toxic, self._accepted, now.serial + 1)
            self.snapshot = ToxicSnapshot(entry.serial, (*now.entries, entry))
            return entry

    def remove(self, key: str) -> AppliedToxic:
        """Forget the toxic called ``key``.

        Raises:
            FaultLayerError: no toxic of that name (the message lists those present).
        """
        with self._lock:
            now = self.snapshot
            for entry in now.entries:
                if entry.toxic.key == key:
                    kept = tuple(e for e in now.entries if e is not entry)
                    self.snapshot = ToxicSnapshot(now.serial, kept)
                    return entry
        present = ", ".join(e.toxic.key for e in now.entries) or "none"
        raise FaultLayerError(
            f"proxy {self._proxy!r} has no toxic named {key!r}; toxics present: {present}"
        )

    def replace(self, toxic: Toxic) -> AppliedToxic:
        """Put ``toxic`` in the place of the toxic of the same name (new attributes, toxicity).

        Raises:
            FaultLayerError: no toxic of that name, or one of another type or stream.
        """
        with self._lock:
            now = self.snapshot
            for i, entry in enumerate(now.entries):
                if entry.toxic.key != toxic.key:
                    continue
                old = entry.toxic
                if (old.type, old.stream) != (toxic.type, toxic.stream):
                    raise FaultLayerError(
                        f"toxic {toxic.key!r} on proxy {self._proxy!r} is a {old.type} toxic "
                        f"on {old.stream}; an update keeps its type and stream (remove it and "
                        "add a new one to change them)"
                    )
                new = AppliedToxic(toxic, entry.base, entry.serial)
                entries = (*now.entries[:i], new, *now.entries[i + 1 :])
                self.snapshot = ToxicSnapshot(now.serial, entries)
                return new
        present = ", ".join(e.toxic.key for e in now.entries) or "none"
        raise FaultLayerError(
            f"proxy {self._proxy!r} has no toxic named {toxic.key!r}; toxics present: {present}"
        )

    def clear(self) -> tuple[AppliedToxic, ...]:
        """Forget every toxic; the ones forgotten, in the order added."""
        with self._lock:
            now = self.snapshot
            self.snapshot = ToxicSnapshot(now.serial)
            return now.entries


class ProxyCore(abc.ABC):
    """A proxy as it lives on the event loop; every method runs on the loop's thread.

    Only :attr:`table` may be used from other threads.
    """

    def __init__(self, name: str, upstream: Address, listen: Address) -> None:
        self.name = name
        self.upstream = upstream
        #: The listen address, with the real port once started.
        self.listen = listen
        self.table = ToxicTable(name)

    @abc.abstractmethod
    async def start(self) -> None:
        """Bind the listen address and start serving.

        Raises:
            FaultLayerError: the address cannot be bound or the upstream resolved.
        """

    @abc.abstractmethod
    def sync_toxics(self) -> None:
        """Put the toxics added to :attr:`table` since last time on every live connection.

        Connections also do this themselves before they forward anything, so
        calling it is only needed to start toxics on idle connections
        (``timeout``, ``reset_peer``) promptly.
        """

    @abc.abstractmethod
    async def detach(self, entries: tuple[AppliedToxic, ...]) -> None:
        """Take ``entries`` (already gone from :attr:`table`) off every live connection."""

    @abc.abstractmethod
    async def reconfigure(self, entry: AppliedToxic) -> None:
        """Give every live connection ``entry``'s new attributes and toxicity.

        A connection the toxic applied to runs it on with the new attributes;
        the toxicity is decided again from the same per-connection draw, so a
        toxic may start or stop applying to a connection (without cleanup).
        """

    async def update_toxic(self, toxic: Toxic) -> None:
        """Change the attributes and toxicity of the toxic called ``toxic.key``.

        Raises:
            FaultLayerError: no toxic of that name, or a change of type or stream.
        """
        await self.reconfigure(self.table.replace(toxic))

    @property
    @abc.abstractmethod
    def serving(self) -> bool:
        """Whether the listener is open (enabled)."""

    async def remove_toxic(self, key: str) -> None:
        """Remove the toxic ``key`` from the table and from every live connection.

        Raises:
            FaultLayerError: no toxic of that name.
        """
        await self.detach((self.table.remove(key),))

    async def clear_toxics(self) -> None:
        """Remove every toxic from the table and from every live connection."""
        await self.detach(self.table.clear())

    @abc.abstractmethod
    async def disable(self) -> None:
        """Close the listener and drop every connection; idempotent."""

    @abc.abstractmethod
    async def enable(self) -> None:
        """Listen again on the same address; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disable for good and wait until every socket is closed."""


def bind_error(what: str, address: Address, exc: OSError) -> FaultLayerError:
    """The error for a listen address that cannot be bound."""
    return FaultLayerError(
        f"the embedded proxy cannot {what} {address}: {exc.strerror or exc}; "
        "pick another port (or port 0 for a free one)"
    )
