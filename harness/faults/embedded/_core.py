"""What TCP and UDP proxies share: the toxic table and the async proxy interface.

The table decides, once per connection (TCP) or client flow (UDP) and toxic,
whether the toxic applies — its ``connection`` filter, then its toxicity —
and hands out the stub's seeded random generator. Nothing here touches the
global ``random``.
"""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass

from harness.addresses import Address
from harness.errors import FaultLayerError
from harness.faults.toxics import Toxic

__all__ = ["AppliedToxic", "ProxyCore", "ToxicTable", "bind_error"]


@dataclass(frozen=True)
class AppliedToxic:
    """A toxic on a proxy, and how many connections the proxy had accepted when it came."""

    toxic: Toxic
    base: int

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


class ToxicTable:
    """The toxics of one proxy, in the order added, and its connection counter."""

    def __init__(self, proxy: str) -> None:
        self._proxy = proxy
        self._entries: list[AppliedToxic] = []
        self._accepted = 0

    @property
    def entries(self) -> list[AppliedToxic]:
        """The applied toxics, in the order added (a copy)."""
        return list(self._entries)

    def toxics(self) -> list[Toxic]:
        """The toxic values, in the order added."""
        return [e.toxic for e in self._entries]

    def next_connection(self) -> int:
        """Number the next accepted connection (or new client flow), from 0."""
        seq = self._accepted
        self._accepted += 1
        return seq

    def add(self, toxic: Toxic) -> AppliedToxic:
        """Record ``toxic``.

        Raises:
            FaultLayerError: a toxic of that name is already on the proxy.
        """
        if any(e.toxic.key == toxic.key for e in self._entries):
            raise FaultLayerError(
                f"proxy {self._proxy!r} already has a toxic named {toxic.key!r}; "
                "remove it first or give the new toxic another name"
            )
        entry = AppliedToxic(toxic, self._accepted)
        self._entries.append(entry)
        return entry

    def remove(self, key: str) -> AppliedToxic:
        """Forget the toxic called ``key``.

        Raises:
            FaultLayerError: no toxic of that name (the message lists those present).
        """
        for i, entry in enumerate(self._entries):
            if entry.toxic.key == key:
                del self._entries[i]
                return entry
        present = ", ".join(e.toxic.key for e in self._entries) or "none"
        raise FaultLayerError(
            f"proxy {self._proxy!r} has no toxic named {key!r}; toxics present: {present}"
        )


class ProxyCore(abc.ABC):
    """A proxy as it lives on the event loop; every method runs on the loop's thread."""

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
    async def add_toxic(self, toxic: Toxic) -> None:
        """Apply ``toxic`` to future connections and, where it selects them, live ones."""

    @abc.abstractmethod
    async def remove_toxic(self, key: str) -> None:
        """Remove the toxic ``key`` from the table and from every live connection."""

    @abc.abstractmethod
    async def disable(self) -> None:
        """Close the listener and drop every connection; idempotent."""

    @abc.abstractmethod
    async def enable(self) -> None:
        """Listen again on the same address; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disable for good and wait until every socket is closed."""

    async def toxics(self) -> list[Toxic]:
        """The toxics now applied, in order."""
        return self.table.toxics()


def bind_error(what: str, address: Address, exc: OSError) -> FaultLayerError:
    """The error for a listen address that cannot be bound."""
    return FaultLayerError(
        f"the embedded proxy cannot {what} {address}: {exc.strerror or exc}; "
        "pick another port (or port 0 for a free one)"
    )
