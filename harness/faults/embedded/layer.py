"""The embedded fault layer: the synchronous, thread-safe face of the asyncio proxies.

Calls are run on the layer's own event-loop thread (see ``_loop.py``) and
waited for with a deadline; OS errors come back as :class:`FaultLayerError`.
Toxics are the exception, because a campaign changes them around every
scenario and each wait for the loop costs a thread switch both ways: a
proxy's toxic table is thread-safe (see ``_core.py``), so adding a toxic or
listing them does not wait for the loop at all, and clearing them is one call.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.embedded._core import ProxyCore
from wirefault.faults.embedded._loop import LoopThread
from wirefault.faults.embedded.tcp import TcpProxy
from wirefault.faults.embedded.toxics import DATAGRAM_TOXICS, STREAM_TOXICS
from wirefault.faults.embedded.udp import UdpProxy
from wirefault.faults.toxics import TOXICS, Toxic

__all__ = ["EmbeddedFaultLayer", "EmbeddedProxy"]

_names = itertools.count(1)

T = TypeVar("T")


def _stream_of(transport: str) -> Literal["tcp", "udp"]:
    """The toxic transport a proxy of this upstream transport applies (unix carries TCP toxics)."""
    return "udp" if transport == "udp" else "tcp"


class EmbeddedProxy(FaultProxy):
    """One embedded proxy; its methods may be called from any thread."""

    def __init__(self, layer: EmbeddedFaultLayer, core: ProxyCore) -> None:
        self.name = core.name
        self.listen = core.listen
        self.upstream = core.upstream
        self._layer = layer
        self._core = core
        self._closed = False

    def add_toxic(self, toxic: Toxic) -> None:
        """Apply ``toxic`` to live and future connections.

        It applies to every byte the proxy reads after this returns, without
        waiting for the proxy's loop.

        Raises:
            FaultLayerError: the toxic does not apply to this proxy's transport,
                or its name is taken.
        """
        transport = _stream_of(self.upstream.transport)
        if not self._layer.supports(toxic, transport):
            valid = ", ".join(
                sorted(t for t, cls in TOXICS.items() if self._layer.supports(cls(), transport))
            )
            raise FaultLayerError(
                f"the embedded backend cannot apply {toxic.type!r} to a {transport.upper()} "
                f"proxy; toxics for {transport}: {valid}"
            )
        table = self._core.table
        table.add(toxic)  # a duplicate name fails here, in the caller's thread
        try:
            # Every connection takes the toxic up before it forwards another byte, so
            # there is nothing to wait for; this starts it at once on idle connections
            # too (a timeout or reset_peer toxic acts without data).
            self._layer.post(self._core.sync_toxics, f"add toxic {toxic.key}")
        except FaultLayerError:
            table.remove(toxic.key)
            raise

    def remove_toxic(self, name: str) -> None:
        """Remove the toxic called ``name``.

        Raises:
            FaultLayerError: no toxic of that name.
        """
        self._layer.call(lambda: self._core.remove_toxic(name), f"remove toxic {name}")

    def toxics(self) -> list[Toxic]:
        """The toxics now applied, in the order added."""
        return self._core.table.toxics()

    def clear_toxics(self) -> None:
        """Remove every toxic, in one call to the loop (none when there are no toxics)."""
        if self._core.table.entries:
            self._layer.call(self._core.clear_toxics, f"clear the toxics of proxy {self.name}")

    def disable(self) -> None:
        """Close the listener and drop every connection (FIN to both sides)."""
        self._layer.call(self._core.disable, f"disable proxy {self.name}")

    def enable(self) -> None:
        """Listen again on the same address.

        Raises:
            FaultLayerError: the port was taken meanwhile.
        """
        self._layer.call(self._core.enable, f"enable proxy {self.name}")

    def close(self) -> None:
        """Close the listener and every connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._layer.call(self._core.close, f"close proxy {self.name}")
        finally:
            self._layer.forget(self)


class EmbeddedFaultLayer(FaultLayer):
    """Pure-Python fault proxies (TCP, unix-socket upstreams, UDP) on one background thread.

    The thread and its event loop start with the first :meth:`open_proxy` and
    stop in :meth:`close`, which closes every proxy, listener and connection.

    Args:
        timeout: seconds any one call may take on the loop before it fails.
        udp_idle_timeout: seconds after which an idle UDP client flow is forgotten.
    """

    backend = "embedded"

    def __init__(self, *, timeout: float = 10.0, udp_idle_timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.udp_idle_timeout = udp_idle_timeout
        self._loop = LoopThread()
        self._lock = threading.Lock()
        self._proxies: dict[str, EmbeddedProxy] = {}
        self._closed = False

    def call(self, factory: Callable[[], Coroutine[Any, Any, T]], what: str) -> T:
        """Run ``factory()`` on the layer's loop, waiting at most :attr:`timeout` seconds.

        Raises:
            FaultLayerError: the layer is closed, the call failed or timed out.
        """
        return self._loop.run(factory, timeout=self.timeout, what=what)

    def post(self, callback: Callable[[], object], what: str) -> None:
        """Have the layer's loop call ``callback()`` soon, without waiting for it.

        Raises:
            FaultLayerError: the layer is closed.
        """
        self._loop.post(callback, what=what)

    def open_proxy(
        self, upstream: Address, *, name: str | None = None, listen: Address | None = None
    ) -> EmbeddedProxy:
        """Open a proxy to ``upstream`` (``tcp``, ``unix`` or ``udp``).

        Args:
            upstream: the server; ``unix`` upstreams are fronted by a TCP listener.
            name: unique within this layer; default ``embedded-N``.
            listen: default 127.0.0.1 on a free port, TCP or UDP as the upstream.

        Raises:
            FaultLayerError: the name is taken, the listen transport does not fit
                the upstream, the layer is closed, or the port cannot be bound.
        """
        kind = _stream_of(upstream.transport)
        listen = listen or Address(kind, "127.0.0.1", 0)
        if listen.transport != kind:
            raise FaultLayerError(
                f"cannot proxy {upstream} from {listen}: a {upstream.transport} upstream needs "
                f"a {kind} listen address, such as {kind}://127.0.0.1:0"
            )
        with self._lock:
            if self._closed:
                raise FaultLayerError(
                    "this embedded fault layer is closed; open a new one to proxy again"
                )
            name = name or f"embedded-{next(_names)}"
            if name in self._proxies:
                raise FaultLayerError(
                    f"a proxy named {name!r} is already open on this layer; pick another name"
                )
            core: ProxyCore
            if kind == "udp":
                core = UdpProxy(name, upstream, listen, idle_timeout=self.udp_idle_timeout)
            else:
                core = TcpProxy(name, upstream, listen)
            self.call(core.start, f"open proxy {name} to {upstream}")
            proxy = EmbeddedProxy(self, core)
            self._proxies[name] = proxy
        return proxy

    def supports(self, toxic: Toxic, transport: str = "tcp") -> bool:
        """Whether the embedded backend applies ``toxic`` on ``transport`` (unix counts as tcp)."""
        kind = _stream_of(transport)
        registry = DATAGRAM_TOXICS if kind == "udp" else STREAM_TOXICS
        return "embedded" in toxic.backends and kind in toxic.transports and toxic.type in registry

    def proxies(self) -> list[EmbeddedProxy]:
        """The proxies now open, in the order opened."""
        with self._lock:
            return list(self._proxies.values())

    def forget(self, proxy: EmbeddedProxy) -> None:
        """Drop a closed proxy from the layer's books (called by :meth:`EmbeddedProxy.close`)."""
        with self._lock:
            if self._proxies.get(proxy.name) is proxy:
                del self._proxies[proxy.name]

    def close(self) -> None:
        """Close every proxy, stop the loop and join its thread; idempotent.

        Raises:
            FaultLayerError: a proxy or the thread would not stop in time
                (everything else is still closed).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            proxies = list(self._proxies.values())
        errors: list[FaultLayerError] = []
        for proxy in proxies:
            try:
                proxy.close()
            except FaultLayerError as exc:  # close the others anyway, report the first
                errors.append(exc)
        self._loop.stop(self.timeout)
        if errors:
            raise errors[0]

    def __enter__(self) -> EmbeddedFaultLayer:
        return self
