"""The Toxiproxy backend: Shopify's proxy, driven over its HTTP API.

::

    ToxiproxyFaultLayer ──> ToxiproxyProxy ──> ToxiproxyClient ──HTTP──> toxiproxy-server
           └──> ToxiproxyServer (only when the layer started the server itself)

toxiproxy-python is used only inside :class:`~wirefault.faults.toxiproxy_api.ToxiproxyClient`
(timeouts, one host/port per client, PATCH, every failure a FaultLayerError);
:mod:`wirefault.faults.toxiproxy_server` starts and stops the server process.

Toxiproxy is TCP only, dials TCP upstreams only, and cannot seed its randomness
or aim a toxic at one connection: those requests are refused with a message
that points at ``--backend embedded``.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from urllib.parse import quote

from wirefault.addresses import Address, parse_hostport
from wirefault.errors import FaultLayerError, UsageError
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.toxics import Down, Toxic
from wirefault.faults.toxiproxy_api import RETRY_FACTOR, ToxiproxyClient, ToxiproxyRefused
from wirefault.faults.toxiproxy_server import ToxiproxyServer

__all__ = ["ToxiproxyClient", "ToxiproxyFaultLayer", "ToxiproxyProxy", "unique_proxy_name"]

_counter = itertools.count()


def unique_proxy_name(prefix: str = "wirefault") -> str:
    """A proxy name unique per process and pytest-xdist worker: ``wirefault-gw0-4242-7``."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}-{worker}-{os.getpid()}-{next(_counter)}"


def _refusal(toxic: Toxic, transport: str = "tcp") -> str | None:
    """Why Toxiproxy cannot apply ``toxic`` on ``transport``, or None if it can."""
    if transport != "tcp":
        return f"Toxiproxy proxies TCP only, not {transport}"
    if "toxiproxy" not in toxic.backends:
        return f"{toxic.type} is a toxic only the embedded backend has"
    if toxic.seed is not None:
        return "seed is honoured only by the embedded backend (Toxiproxy's randomness is unseeded)"
    if toxic.connection is not None:
        return "Toxiproxy cannot aim a toxic at one connection"
    return None


def _path(*names: str) -> str:
    return "/proxies/" + "/".join(quote(n, safe="") for n in names)


class ToxiproxyProxy(FaultProxy):
    """One Toxiproxy proxy; made by :meth:`ToxiproxyFaultLayer.open_proxy`."""

    def __init__(
        self,
        client: ToxiproxyClient,
        name: str,
        listen: Address,
        upstream: Address,
        on_close: Callable[[ToxiproxyProxy], None],
    ) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self._client = client
        self._on_close = on_close
        self._toxics: dict[str, Toxic] = {}
        #: Names of the ``down`` toxics that disabled the proxy.
        self._downed: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def add_toxic(self, toxic: Toxic) -> None:
        """Apply ``toxic`` on the server.

        Raises:
            FaultLayerError: an embedded-only toxic (or one with ``seed`` or
                ``connection``), a name already used on this proxy, or a server error.
        """
        reason = _refusal(toxic)
        if reason:
            raise FaultLayerError(
                f"Toxiproxy cannot apply {toxic.describe()}: {reason}; use --backend embedded"
            )
        if isinstance(toxic, Down):
            self._go_down(toxic)
            return
        body = {
            "name": toxic.key,
            "type": toxic.type,
            "stream": toxic.stream,
            "toxicity": toxic.toxicity,
            "attributes": toxic.attributes(),
        }
        try:
            self._client.request("POST", _path(self.name, "toxics"), body)
        except ToxiproxyRefused as exc:
            if exc.status != 409:
                raise
            raise FaultLayerError(
                f"proxy {self.name} already has a toxic named {toxic.key!r}; "
                "remove it first or give the new one another name"
            ) from exc
        with self._lock:
            self._toxics[toxic.key] = toxic

    def _go_down(self, toxic: Down) -> None:
        """``down`` is Toxiproxy's ``enabled=false``: the proxy, not a toxic on the server."""
        with self._lock:
            if toxic.key in self._toxics:
                raise FaultLayerError(
                    f"proxy {self.name} already has a toxic named {toxic.key!r}; "
                    "remove it first or give the new one another name"
                )
        if toxic.goes_down():
            self.disable()
            self._downed.add(toxic.key)
        with self._lock:
            self._toxics[toxic.key] = toxic

    def remove_toxic(self, name: str) -> None:
        """Remove the toxic called ``name`` (removing ``down`` enables the proxy again).

        Raises:
            FaultLayerError: the proxy has no such toxic, or a server error.
        """
        with self._lock:
            down = isinstance(self._toxics.get(name), Down)
            if down:
                del self._toxics[name]
        if down:
            if name in self._downed:
                self._downed.discard(name)
                if not self._downed:
                    self.enable()
            return
        try:
            self._client.request("DELETE", _path(self.name, "toxics", name))
        except ToxiproxyRefused as exc:
            if exc.status != 404:
                raise
            with self._lock:
                self._toxics.pop(name, None)  # gone from the server, whoever removed it
                applied = ", ".join(self._toxics) or "none"
            raise FaultLayerError(
                f"proxy {self.name} has no toxic named {name!r}; applied: {applied}"
            ) from exc
        with self._lock:
            self._toxics.pop(name, None)

    def toxics(self) -> list[Toxic]:
        """The toxics this proxy applied, in the order they were added."""
        with self._lock:
            return list(self._toxics.values())

    def disable(self) -> None:
        """Close the listener and drop every connection (``PATCH enabled=false``)."""
        self._client.request("PATCH", _path(self.name), {"enabled": False})

    def enable(self) -> None:
        """Listen again on the same address (``PATCH enabled=true``)."""
        self._client.request("PATCH", _path(self.name), {"enabled": True})

    def close(self) -> None:
        """Delete the proxy from the server (a proxy already gone is fine); idempotent."""
        if self._mark_closed():
            return
        try:
            self._client.request("DELETE", _path(self.name))
        except ToxiproxyRefused as exc:
            if exc.status != 404:
                raise
        finally:
            self._on_close(self)

    def abandon(self) -> None:
        """Forget the proxy without telling the server (which is about to stop)."""
        if not self._mark_closed():
            self._on_close(self)

    def _mark_closed(self) -> bool:
        """Mark closed; whether it already was."""
        with self._lock:
            was, self._closed = self._closed, True
        return was

    def __repr__(self) -> str:
        return f"ToxiproxyProxy({self.name!r}, listen={self.listen}, upstream={self.upstream})"


class ToxiproxyFaultLayer(FaultLayer):
    """Fault layer backed by a Toxiproxy server.

    Get one with :meth:`connect` (a server someone else runs) or :meth:`start`
    (a ``toxiproxy-server`` this layer starts and stops). Use it as a context
    manager: leaving it deletes its proxies and stops the server it started.
    """

    backend = "toxiproxy"

    def __init__(self, client: ToxiproxyClient, *, server: ToxiproxyServer | None = None) -> None:
        self.client = client
        #: The server process this layer started, or None when connected to one.
        self.server = server
        self._proxies: dict[str, ToxiproxyProxy] = {}
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def connect(
        cls, url: str | None = None, *, timeout: float = 5.0, probe_timeout: float | None = None
    ) -> ToxiproxyFaultLayer:
        """Use the server at ``url`` (default ``$TOXIPROXY_URL``), checking it answers.

        Args:
            url: ``http://HOST:PORT`` of the API.
            timeout: seconds allowed for each later API call.
            probe_timeout: seconds allowed for the first ``GET /version`` (default ``timeout``).

        Raises:
            UsageError: no URL given and TOXIPROXY_URL unset, or a malformed URL.
            FaultLayerError: nothing answers ``GET /version`` there.
        """
        url = url or os.environ.get("TOXIPROXY_URL")
        if not url:
            raise UsageError(
                "no Toxiproxy URL: set TOXIPROXY_URL (e.g. http://127.0.0.1:8474) or pass one"
            )
        # The first call only checks something answers: no retry, so `auto` moves on fast.
        client = ToxiproxyClient(url, timeout=probe_timeout or timeout, retry_factor=0)
        client.version()
        client.timeout = timeout
        client.retry_factor = RETRY_FACTOR
        return cls(client)

    @classmethod
    def start(cls, binary: str | None = None, *, timeout: float = 10.0) -> ToxiproxyFaultLayer:
        """Start a ``toxiproxy-server`` (``$TOXIPROXY_SERVER``, else PATH) and use it.

        Raises:
            FaultLayerError: no binary, or it did not start within ``timeout`` seconds.
        """
        server = ToxiproxyServer.start(binary, timeout=timeout)
        client = ToxiproxyClient(
            server.url,
            context=lambda: f"toxiproxy-server pid {server.pid}; its log ends: {server.log_tail()}",
        )
        return cls(client, server=server)

    @property
    def url(self) -> str:
        """The API's base URL."""
        return self.client.url

    def open_proxy(
        self, upstream: Address, *, name: str | None = None, listen: Address | None = None
    ) -> ToxiproxyProxy:
        """Create a proxy to ``upstream`` on ``listen`` (default 127.0.0.1, a free port).

        Raises:
            FaultLayerError: a UDP or unix upstream, a name in use, or a server error.
        """
        if self._closed:
            raise FaultLayerError("this Toxiproxy fault layer is closed; open a new one")
        for role, address in (("upstream", upstream), ("listen", listen)):
            if address is not None and address.transport != "tcp":
                raise FaultLayerError(
                    f"Toxiproxy cannot use {address} as {role}: it proxies TCP over IP only; "
                    "use --backend embedded"
                )
        name = name or unique_proxy_name()
        body = {
            "name": name,
            "listen": (listen or Address("tcp", "127.0.0.1", 0)).hostport,
            "upstream": upstream.hostport,
            "enabled": True,
        }
        try:
            answer = self.client.request("POST", "/proxies", body)
        except ToxiproxyRefused as exc:
            if exc.status != 409:
                raise
            raise FaultLayerError(
                f"Toxiproxy at {self.url} already has a proxy named {name!r}; "
                "choose another name or leave it out for a unique one"
            ) from exc
        host, port = _listen_of(answer)
        proxy = ToxiproxyProxy(
            self.client, name, Address("tcp", host, port), upstream, self._forget
        )
        with self._lock:
            self._proxies[name] = proxy
        return proxy

    def supports(self, toxic: Toxic, transport: str = "tcp") -> bool:
        """True for Toxiproxy's own toxics on TCP without ``seed`` or ``connection``."""
        return _refusal(toxic, transport) is None

    def proxies(self) -> list[ToxiproxyProxy]:
        """The proxies this layer opened and has not closed."""
        with self._lock:
            return list(self._proxies.values())

    def _forget(self, proxy: ToxiproxyProxy) -> None:
        with self._lock:
            self._proxies.pop(proxy.name, None)

    def close(self) -> None:
        """Delete this layer's proxies and stop the server it started; idempotent.

        Raises:
            FaultLayerError: a proxy could not be deleted from a server this layer
                does not own (it is left behind; the message names it).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.server is not None:
            # The proxies die with the server: no HTTP calls to a server that may be
            # dying already (Ctrl-C reaches it too) or hung.
            for proxy in self.proxies():
                proxy.abandon()
            self.server.stop()
            return
        failures: list[str] = []
        for proxy in self.proxies():
            try:
                proxy.close()
            except FaultLayerError as exc:
                failures.append(f"{proxy.name}: {exc}")
        if failures:
            raise FaultLayerError(
                f"could not delete {len(failures)} proxy(ies) from Toxiproxy at {self.url}; "
                f"delete them by hand (DELETE /proxies/NAME): {'; '.join(failures)}"
            )

    def __enter__(self) -> ToxiproxyFaultLayer:
        return self

    def __repr__(self) -> str:
        owner = f", server pid {self.server.pid}" if self.server else ""
        return f"ToxiproxyFaultLayer({self.url!r}{owner})"


def _listen_of(answer: object) -> tuple[str, int]:
    """The real listen address from a ``POST /proxies`` answer."""
    listen = answer.get("listen") if isinstance(answer, dict) else None
    if not isinstance(listen, str):
        raise FaultLayerError(
            f"Toxiproxy answered POST /proxies without a listen address: {answer!r}; "
            "is this really a Toxiproxy 2.x server?"
        )
    try:
        return parse_hostport(listen, what="Toxiproxy listen address")
    except UsageError as exc:
        raise FaultLayerError(str(exc)) from None
