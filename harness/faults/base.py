"""The fault-layer interface every backend implements.

::

    client ──> FaultProxy.listen ──[upstream toxics]──> upstream server
    client <──────────────────────[downstream toxics]<── upstream server

A :class:`FaultLayer` opens :class:`FaultProxy` objects, one per upstream
address. A proxy takes and removes toxics while connections are live, can be
disabled (listener closed, every connection dropped) and enabled again, and is
closed with nothing left behind. A layer is a context manager: leaving it
closes every proxy it opened and whatever it started (threads, event loops,
a ``toxiproxy-server`` process), on success, on error and on Ctrl-C.
"""

from __future__ import annotations

import abc
from types import TracebackType

from wirefault.addresses import Address
from wirefault.faults.toxics import Toxic

__all__ = ["FaultLayer", "FaultProxy"]


class FaultProxy(abc.ABC):
    """One proxy in front of one upstream address."""

    #: Unique name of the proxy within its layer (and its Toxiproxy server).
    name: str
    #: The address clients connect to.
    listen: Address
    #: The server the proxy forwards to.
    upstream: Address

    @abc.abstractmethod
    def add_toxic(self, toxic: Toxic) -> None:
        """Apply ``toxic`` to live and future connections.

        Raises:
            FaultLayerError: the backend refused it (unsupported type, name taken).
        """

    @abc.abstractmethod
    def remove_toxic(self, name: str) -> None:
        """Remove the toxic called ``name`` (a toxic's :attr:`~Toxic.key`).

        Raises:
            FaultLayerError: no toxic of that name.
        """

    @abc.abstractmethod
    def toxics(self) -> list[Toxic]:
        """The toxics now applied, in the order they were added."""

    def clear_toxics(self) -> None:
        """Remove every toxic."""
        for toxic in self.toxics():
            self.remove_toxic(toxic.key)

    @abc.abstractmethod
    def disable(self) -> None:
        """Take the proxy down: close the listener and drop every connection."""

    @abc.abstractmethod
    def enable(self) -> None:
        """Bring a disabled proxy back on the same listen address."""

    @abc.abstractmethod
    def close(self) -> None:
        """Tear the proxy down for good; idempotent."""


class FaultLayer(abc.ABC):
    """A fault backend: a factory and owner of proxies."""

    #: ``toxiproxy`` or ``embedded``.
    backend: str

    @abc.abstractmethod
    def open_proxy(
        self, upstream: Address, *, name: str | None = None, listen: Address | None = None
    ) -> FaultProxy:
        """Open a proxy to ``upstream`` listening on ``listen`` (default 127.0.0.1, free port).

        Raises:
            FaultLayerError: the backend cannot proxy this transport, or failed.
        """

    @abc.abstractmethod
    def supports(self, toxic: Toxic, transport: str = "tcp") -> bool:
        """Whether this backend can apply ``toxic`` on ``transport``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close every proxy and stop what the layer started; idempotent."""

    def __enter__(self) -> FaultLayer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
