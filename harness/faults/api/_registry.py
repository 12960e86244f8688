"""The proxies an API server manages, with the semantics of Toxiproxy's collection.

:class:`ProxyRegistry` is Toxiproxy's ``ProxyCollection`` and ``Proxy`` over
embedded proxies: names unique, a proxy created disabled does not listen, the
``listen`` text kept as given until the proxy listens and then shown as the
bound address, ``enabled=false`` closing the listener and every connection,
enabling again on the same address, a change of listen or upstream restarting
the proxy, ``/populate`` replacing only proxies that differ, ``/reset``
enabling every proxy and removing every toxic. Every operation runs under one
lock, as Toxiproxy's do, and raises :class:`ApiError` with Toxiproxy's status
and message. No HTTP here (see ``_http.py``).

Two *dialects* see the same proxies: ``toxiproxy`` (Toxiproxy's routes: TCP
proxies and Toxiproxy's toxics) and ``wirefault`` (wirefault's own routes:
UDP proxies and unix-socket upstreams too, every wirefault toxic, with seed
and connection).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Literal

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.api._goaddr import GoAddrError, TcpAddr, bind_error, resolve_tcp_addr
from wirefault.faults.api._gojson import decode_fields
from wirefault.faults.api._proxies import (
    DEFAULT_LISTEN,
    PROXY_FIELDS,
    Dialect,
    ProxyRecord,
    logger_error,
    populate_items,
    upstream_address,
    visible,
)
from wirefault.faults.api._toxics import (
    ApiError,
    ToxicRecord,
    bad_body,
    decode_toxic,
    decode_toxic_update,
    decode_wirefault_toxic,
    record_of,
)
from wirefault.faults.embedded import EmbeddedFaultLayer, EmbeddedProxy

__all__ = ["Dialect", "ProxyRecord", "ProxyRegistry"]

_ids = itertools.count(1)


class ProxyRegistry:
    """Named proxies on one embedded fault layer, managed as Toxiproxy manages its own.

    Args:
        layer: where the proxies are opened; the caller closes it (after :meth:`close`).
    """

    def __init__(self, layer: EmbeddedFaultLayer) -> None:
        self._layer = layer
        self._lock = threading.RLock()
        self._proxies: dict[str, ProxyRecord] = {}

    # -- proxies -------------------------------------------------------------------------

    def proxies(self, dialect: Dialect) -> list[ProxyRecord]:
        """The proxies ``dialect`` sees, in the order created."""
        with self._lock:
            return [r for r in self._proxies.values() if visible(r, dialect)]

    def get(self, name: str, dialect: Dialect) -> ProxyRecord:
        """The proxy called ``name``.

        Raises:
            ApiError: 404 ``proxy not found`` (also for a UDP proxy in Toxiproxy's dialect).
        """
        with self._lock:
            record = self._proxies.get(name)
            if record is None or not visible(record, dialect):
                raise ApiError("proxy not found", 404)
            return record

    def create(self, body: object, dialect: Dialect) -> ProxyRecord:
        """``POST /proxies``: a new proxy, listening unless ``enabled`` is false.

        Raises:
            ApiError: 400 bad body or missing field, 409 name taken, 500 cannot listen.
        """
        fields, error = decode_fields(
            body, PROXY_FIELDS, struct_name="Proxy", value_type="toxiproxy.Proxy"
        )
        error = error or logger_error(body)
        if error is not None:
            raise bad_body(error)
        name, upstream = str(fields.get("name", "")), str(fields.get("upstream", ""))
        if not name:
            raise ApiError("missing required field: name", 400)
        if not upstream:
            raise ApiError("missing required field: upstream", 400)
        listen = str(fields.get("listen", "")) or DEFAULT_LISTEN
        with self._lock:
            if name in self._proxies:
                raise ApiError("proxy already exists", 409)
            record = self._make(name, listen, upstream, dialect)
            if fields.get("enabled", True):
                try:
                    self._start(record)
                except ApiError:
                    record.proxy.close()
                    raise
            self._proxies[name] = record
            return record

    def adopt(self, proxy: EmbeddedProxy) -> ProxyRecord:
        """Manage ``proxy``, opened elsewhere (``wirefault proxy --api``), under its own name."""
        upstream = proxy.upstream
        shown = upstream.hostport if upstream.transport == "tcp" else str(upstream)
        transport: Literal["tcp", "udp"] = "udp" if proxy.listen.transport == "udp" else "tcp"
        record = ProxyRecord(proxy.name, proxy.listen.hostport, shown, transport, proxy)
        record.toxics = [record_of(t) for t in proxy.toxics()]
        with self._lock:
            self._proxies[proxy.name] = record
        return record

    def update(self, name: str, body: object, dialect: Dialect) -> ProxyRecord:
        """``PATCH /proxies/NAME``: Toxiproxy's ``Proxy.Update``.

        A new listen or upstream stops the proxy and takes the new addresses;
        then ``enabled`` starts or stops it.

        Raises:
            ApiError: 404, 400 bad body, 500 an address Go cannot resolve or bind.
        """
        with self._lock:
            record = self.get(name, dialect)
            fields, error = decode_fields(
                body, PROXY_FIELDS, struct_name="Proxy", value_type="toxiproxy.Proxy"
            )
            error = error or logger_error(body)
            if error is not None:
                raise bad_body(error)
            listen = str(fields.get("listen", record.listen))
            upstream = str(fields.get("upstream", record.upstream))
            enabled = bool(fields.get("enabled", record.enabled))  # before any restart
            try:
                resolved = resolve_tcp_addr(listen)
            except GoAddrError as exc:
                raise ApiError(str(exc), 500) from None
            if record.listen != str(resolved) or record.upstream != upstream:
                record.proxy.disable()
                record.listen, record.upstream = listen, upstream
                record.proxy.retarget(
                    upstream=upstream_address(upstream, record.transport, dialect)
                )
            if enabled and not record.enabled:
                self._start(record)
            elif not enabled and record.enabled:
                record.proxy.disable()
            return record

    def delete(self, name: str, dialect: Dialect) -> None:
        """``DELETE /proxies/NAME``: stop the proxy and forget it.

        Raises:
            ApiError: 404.
        """
        with self._lock:
            record = self.get(name, dialect)
            del self._proxies[name]
        record.proxy.close()

    def populate(self, body: object) -> tuple[list[ProxyRecord] | None, ApiError | None]:
        """``POST /populate``: create or replace proxies from a list, in order.

        A proxy whose name exists is kept as it is (toxics too) unless its listen
        or upstream differ, when it is stopped and replaced. Returns the proxies
        made or kept until the first error, and that error.
        """
        items, error = populate_items(body)
        if error is not None:
            return None, error
        with self._lock:
            done: list[ProxyRecord] = []
            for name, listen, upstream, enabled in items:
                try:
                    done.append(self._add_or_replace(name, listen, upstream, enabled))
                except ApiError as exc:
                    return done, exc
            return done, None

    def _add_or_replace(self, name: str, listen: str, upstream: str, enabled: bool) -> ProxyRecord:
        existing = self._proxies.get(name)
        if existing is not None:
            try:
                resolved = resolve_tcp_addr(listen)
            except GoAddrError as exc:
                raise ApiError(str(exc), 500) from None
            if existing.listen == str(resolved) and existing.upstream == upstream:
                return existing
            existing.proxy.disable()
        record = self._make(name, listen, upstream, "toxiproxy")
        if enabled:
            try:
                self._start(record)
            except ApiError:
                record.proxy.close()
                raise
        if existing is not None:
            existing.proxy.close()
        self._proxies[name] = record
        return record

    def reset(self) -> None:
        """``POST /reset``: enable every proxy and remove every toxic.

        Raises:
            ApiError: 500 a proxy cannot listen again (the others may be reset already).
        """
        with self._lock:
            for record in list(self._proxies.values()):
                if not record.enabled:
                    self._start(record)
                record.proxy.clear_toxics()
                record.toxics.clear()

    def close(self) -> None:
        """Close every proxy (the layer itself is the caller's)."""
        with self._lock:
            records, self._proxies = list(self._proxies.values()), {}
        for record in records:
            record.proxy.close()

    # -- toxics ----------------------------------------------------------------------------

    def add_toxic(self, name: str, body: object, dialect: Dialect) -> ToxicRecord:
        """``POST /proxies/NAME/toxics``.

        Raises:
            ApiError: 404, 400 bad toxic, 409 name taken.
        """
        decode: Callable[[object, set[str]], ToxicRecord] = (
            decode_toxic if dialect == "toxiproxy" else decode_wirefault_toxic
        )
        with self._lock:
            record = self.get(name, dialect)
            toxic = decode(body, {t.name for t in record.toxics})
            try:
                record.proxy.add_toxic(toxic.toxic)
            except FaultLayerError as exc:
                raise ApiError(str(exc), 400) from None
            record.toxics.append(toxic)
            return toxic

    def update_toxic(
        self, name: str, toxic_name: str, body: object, dialect: Dialect
    ) -> ToxicRecord:
        """``PATCH /proxies/NAME/toxics/TOXIC``: new attributes and toxicity, same place.

        Raises:
            ApiError: 404 (proxy or toxic), 400 bad body.
        """
        with self._lock:
            record = self.get(name, dialect)
            old = record.toxic(toxic_name)
            new = decode_toxic_update(body, old)
            try:
                record.proxy.update_toxic(new.toxic)
            except FaultLayerError as exc:
                raise ApiError(str(exc), 400) from None
            record.toxics[record.toxics.index(old)] = new
            return new

    def remove_toxic(self, name: str, toxic_name: str, dialect: Dialect) -> None:
        """``DELETE /proxies/NAME/toxics/TOXIC``.

        Raises:
            ApiError: 404 (proxy or toxic).
        """
        with self._lock:
            record = self.get(name, dialect)
            toxic = record.toxic(toxic_name)
            record.proxy.remove_toxic(toxic.toxic.key)
            record.toxics.remove(toxic)

    # -- internals -----------------------------------------------------------------------

    def _make(self, name: str, listen: str, upstream: str, dialect: Dialect) -> ProxyRecord:
        """A disabled proxy (it listens once :meth:`_start` ed)."""
        target = upstream_address(upstream, "tcp", dialect)
        transport: Literal["tcp", "udp"] = "udp" if target.transport == "udp" else "tcp"
        placeholder = Address(transport, "127.0.0.1", 0)
        try:
            proxy = self._layer.open_proxy(
                target, name=f"{name}#{next(_ids)}", listen=placeholder, enabled=False
            )
        except FaultLayerError as exc:
            raise ApiError(str(exc), 500) from None
        return ProxyRecord(name, listen, upstream, transport, proxy)

    def _start(self, record: ProxyRecord) -> None:
        """Listen on ``record.listen`` (Toxiproxy's ``start``); the bound address replaces it.

        Raises:
            ApiError: 500 with Go's message when the address does not resolve or bind.
        """
        try:
            addr = resolve_tcp_addr(record.listen)
        except GoAddrError as exc:
            raise ApiError(f"listen tcp: {exc}", 500) from None
        record.proxy.retarget(listen=Address(record.transport, addr.bind_host, addr.port))
        try:
            record.proxy.enable()
        except FaultLayerError as exc:
            cause = exc.__cause__
            message = bind_error(addr, cause) if isinstance(cause, OSError) else str(exc)
            raise ApiError(message, 500) from None
        record.listen = str(TcpAddr(addr.bind_host, record.proxy.listen.port))
