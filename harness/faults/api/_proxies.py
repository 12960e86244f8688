"""Proxies as the API shows and reads them: records, dialects, and the bodies that make them.

A :class:`ProxyRecord` is one proxy with what Toxiproxy shows of it; the
helpers read proxy bodies (``POST /proxies``, ``PATCH``, ``/populate``) with
Toxiproxy's rules and errors. The registry (``_registry.py``) acts on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from wirefault.addresses import Address, parse_address
from wirefault.errors import UsageError
from wirefault.faults.api._goaddr import parse_upstream
from wirefault.faults.api._gojson import GoObject, decode_fields, kind_of
from wirefault.faults.api._toxics import ApiError, ToxicRecord, bad_body
from wirefault.faults.embedded import EmbeddedProxy

__all__ = [
    "DEFAULT_LISTEN",
    "PROXY_FIELDS",
    "Dialect",
    "ProxyRecord",
    "logger_error",
    "populate_items",
    "upstream_address",
    "visible",
]

Dialect = Literal["toxiproxy", "wirefault"]

#: Where a proxy created without a listen address listens. Toxiproxy listens on
#: every interface then; wirefault binds loopback unless told otherwise.
DEFAULT_LISTEN = "127.0.0.1:0"
#: A proxy body's fields and their Go types, as Toxiproxy's ``Proxy`` struct reads them.
PROXY_FIELDS = {"name": "string", "listen": "string", "upstream": "string", "enabled": "bool"}
#: Go's name for the type of one ``/populate`` item, as its error messages quote it.
POPULATE_ITEM = 'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }'


@dataclass
class ProxyRecord:
    """One proxy as the API knows it.

    Attributes:
        name: its name in the API.
        listen: Toxiproxy's ``listen``: as given until the proxy listens, then bound.
        upstream: as given.
        transport: ``tcp`` or ``udp`` (UDP proxies exist only in wirefault's dialect).
        proxy: the embedded proxy.
        toxics: its toxics, in the order added.
    """

    name: str
    listen: str
    upstream: str
    transport: Literal["tcp", "udp"]
    proxy: EmbeddedProxy
    toxics: list[ToxicRecord] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        """Whether the proxy listens."""
        return self.proxy.enabled

    def toxic(self, name: str) -> ToxicRecord:
        """The toxic called ``name``.

        Raises:
            ApiError: 404 ``toxic not found``.
        """
        for record in self.toxics:
            if record.name == name:
                return record
        raise ApiError("toxic not found", 404)

    def to_json(self, dialect: Dialect) -> dict[str, Any]:
        """The proxy's JSON in ``dialect`` (Toxiproxy's, key for key: its ``Logger`` too)."""
        if dialect == "wirefault":
            return {
                "name": self.name,
                "listen": self.listen,
                "upstream": self.upstream,
                "enabled": self.enabled,
                "transport": self.transport,
                "toxics": [t.wirefault_json() for t in self.toxics],
            }
        # Toxiproxy lists the upstream chain first, then the downstream one.
        ordered = sorted(self.toxics, key=lambda t: not t.upstream)
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            # Toxiproxy's Proxy struct leaks its logger into the JSON as an empty object.
            "Logger": {},
            "toxics": [t.toxiproxy_json() for t in ordered],
        }


def visible(record: ProxyRecord, dialect: Dialect) -> bool:
    """Whether ``dialect`` sees ``record`` (Toxiproxy's sees TCP proxies only)."""
    return dialect == "wirefault" or record.transport == "tcp"


def upstream_address(text: str, transport: str, dialect: Dialect) -> Address:
    """The address to dial for an upstream text (wirefault's dialect also takes udp:// and unix://)."""
    if dialect == "wirefault" and "://" in text:
        try:
            return parse_address(text)
        except UsageError as exc:
            raise ApiError(str(exc), 400) from None
    host, port = parse_upstream(text)
    return Address("udp" if transport == "udp" else "tcp", host, port)


def logger_error(body: object) -> str | None:
    """Toxiproxy's error for a ``Logger`` key that is not an object (its Proxy struct has one)."""
    if not isinstance(body, GoObject):
        return None
    for key, value in body.pairs:
        if key.lower() == "logger" and value is not None and not isinstance(value, GoObject):
            return (
                f"json: cannot unmarshal {kind_of(value)} into Go struct field "
                "Proxy.Logger of type zerolog.Logger"
            )
    return None


def populate_items(
    body: object,
) -> tuple[list[tuple[str, str, str, bool]], ApiError | None]:
    """The ``(name, listen, upstream, enabled)`` of each proxy of a ``/populate`` body."""
    if body is None:
        return [], None
    if not isinstance(body, list):
        return [], bad_body(
            f"json: cannot unmarshal {kind_of(body)} into Go value of type []{POPULATE_ITEM}"
        )
    items, first = [], None
    for value in body:
        proxy, error = decode_fields(
            value,
            {k: v for k, v in PROXY_FIELDS.items() if k != "enabled"},
            struct_name="",
            path="Proxy",
            value_type=POPULATE_ITEM,
        )
        flag, flag_error = decode_fields(
            value, {"enabled": "bool"}, struct_name="", value_type=POPULATE_ITEM
        )
        first = first or error or flag_error
        items.append(
            (
                str(proxy.get("name", "")),
                str(proxy.get("listen", "")) or DEFAULT_LISTEN,
                str(proxy.get("upstream", "")),
                bool(flag.get("enabled", True)),
            )
        )
    if first is not None:
        return [], bad_body(first)
    for i, (name, _listen, upstream, _enabled) in enumerate(items, start=1):
        if not name:
            return [], ApiError(f"missing required field: name at proxy {i}", 400)
        if not upstream:
            return [], ApiError(f"missing required field: upstream at proxy {i}", 400)
    return items, None
