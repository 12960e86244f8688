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
from wirefault.faults.toxics import TOXICS, Down, Toxic

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
        #: Names of the ``down`` toxics that took the proxy down.
        self._downed: set[str] = set()

    @property
    def enabled(self) -> bool:
        """Whether the proxy listens (not disabled, not down)."""
        return self._core.serving

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
        if isinstance(toxic, Down):
            self._go_down(toxic)
            return
        try:
            # Every connection takes the toxic up before it forwards another byte, so
            # there is nothing to wait for; this starts it at once on idle connections
            # too (a timeout or reset_peer toxic acts without data).
            self._layer.post(self._core.sync_toxics, f"add toxic {toxic.key}")
        except FaultLayerError:
            table.remove(toxic.key)
            raise

    def _go_down(self, toxic: Down) -> None:
        """Take the proxy down for ``toxic`` (if its toxicity draw says so)."""
        if not toxic.goes_down():
            return
        try:
            self.disable()
        except FaultLayerError:
            self._core.table.remove(toxic.key)
            raise
        self._downed.add(toxic.key)

    def _come_back(self, removed: set[str]) -> None:
        """Enable the proxy again if the last ``down`` toxic that took it down is gone."""
        if self._downed & removed:
            self._downed -= removed
            if not self._downed:
                self.enable()

    def remove_toxic(self, name: str) -> None:
        """Remove the toxic called ``name`` (removing ``down`` brings the proxy back).

        Raises:
            FaultLayerError: no toxic of that name.
        """
        self._layer.call(lambda: self._core.remove_toxic(name), f"remove toxic {name}")
        self._come_back({name})

    def update_toxic(self, toxic: Toxic) -> None:
        """Give the toxic called ``toxic.key`` new attributes and toxicity, as Toxiproxy's PATCH.

        It keeps its place in the chain, what it holds, its per-connection state
        and the connections it holds (an updated ``timeout`` does not close
        them). Toxicity is decided again from each connection's same draw.

        Raises:
            FaultLayerError: no toxic of that name, or another type or stream.
        """
        self._layer.call(lambda: self._core.update_toxic(toxic), f"update toxic {toxic.key}")

    def toxics(self) -> list[Toxic]:
        """The toxics now applied, in the order added."""
        return self._core.table.toxics()

    def clear_toxics(self) -> None:
        """Remove every toxic, in one call to the loop (none when there are no toxics)."""
        entries = self._core.table.entries
        if entries:
            self._layer.call(self._core.clear_toxics, f"clear the toxics of proxy {self.name}")
            self._come_back({e.toxic.key for e in entries})

    def retarget(self, *, listen: Address | None = None, upstream: Address | None = None) -> None:
        """Disable the proxy and change where it listens and forwards; :meth:`enable` after.

        Raises:
            FaultLayerError: the loop failed or the layer is closed.
        """
        core = self._core

        async def change() -> None:
            await core.disable()
            if listen is not None:
                core.listen = listen
            if upstream is not None:
                core.upstream = upstream
                if isinstance(core, UdpProxy):
                    core.retarget_upstream()

        self._layer.call(change, f"change the addresses of proxy {self.name}")
        self.listen, self.upstream = core.listen, core.upstream

    def disable(self) -> None:
        """Close the listener and drop every connection (FIN to both sides)."""
        self._layer.call(self._core.disable, f"disable proxy {self.name}")

    def enable(self) -> None:
        """Listen again on the same address (port 0: a free one, kept from then on).

        Raises:
            FaultLayerError: the port was taken meanwhile.
        """
        self._layer.call(self._core.enable, f"enable proxy {self.name}")
        self.listen = self._core.listen

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
        self,
        upstream: Address,
        *,
        name: str | None = None,
        listen: Address | None = None,
        enabled: bool = True,
    ) -> EmbeddedProxy:
        """Open a proxy to ``upstream`` (``tcp``, ``unix`` or ``udp``).

        Args:
            upstream: the server; ``unix`` upstreams are fronted by a TCP listener.
            name: unique within this layer; default ``embedded-N``.
            listen: default 127.0.0.1 on a free port, TCP or UDP as the upstream.
            enabled: False makes the proxy without listening yet (:meth:`EmbeddedProxy.enable`).

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
            if enabled:
                self.call(core.start, f"open proxy {name} to {upstream}")
            proxy = EmbeddedProxy(self, core)
            self._proxies[name] = proxy
        return proxy

    def supports(self, toxic: Toxic, transport: str = "tcp") -> bool:
        """Whether the embedded backend applies ``toxic`` on ``transport`` (unix counts as tcp)."""
        kind = _stream_of(transport)
        registry = DATAGRAM_TOXICS if kind == "udp" else STREAM_TOXICS
        implemented = toxic.proxy_level or toxic.type in registry
        return "embedded" in toxic.backends and kind in toxic.transports and implemented

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
