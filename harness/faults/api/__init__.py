"""Toxiproxy's HTTP API, served by the embedded proxy: ``wirefault proxy-server``.

::

    toxiproxy-cli, toxiproxy-python, any Toxiproxy client
        ──HTTP──> ApiServer (_http.py) ──> ProxyRegistry (_registry.py) ──> EmbeddedFaultLayer

A drop-in for toxiproxy-server 2.12's API: the same routes, JSON bodies,
statuses and error bodies, Go's decoding rules included (``_gojson.py``,
``_goaddr.py``, ``_toxics.py``), so that clients written for Toxiproxy drive
the embedded proxy unchanged. wirefault's additions — UDP proxies,
unix-socket upstreams, every wirefault toxic, ``seed`` and ``connection`` —
live under their own routes (``/wirefault/proxies...``, ``/wirefault/toxics``),
which a Toxiproxy client never calls. See docs/CLI.md for the differences
that remain, on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType

from wirefault.errors import FaultLayerError, UsageError
from wirefault.faults.api._gojson import GoDecodeError, parse_body
from wirefault.faults.api._http import ApiServer
from wirefault.faults.api._registry import ProxyRecord, ProxyRegistry
from wirefault.faults.api._routes import API_VERSION
from wirefault.faults.api._toxics import ApiError
from wirefault.faults.embedded import EmbeddedFaultLayer

__all__ = [
    "API_VERSION",
    "ApiError",
    "ApiServer",
    "ProxyRecord",
    "ProxyRegistry",
    "ToxiproxyApi",
]


class ToxiproxyApi:
    """Toxiproxy's API over the proxies of an embedded fault layer; a context manager.

    Args:
        layer: where the API's proxies are opened (the caller closes it, after this).
        host: address the API binds (default loopback).
        port: port it binds (0: a free one).

    Raises:
        FaultLayerError: the API's address cannot be bound.
    """

    def __init__(self, layer: EmbeddedFaultLayer, *, host: str = "127.0.0.1", port: int = 8474):
        self.registry = ProxyRegistry(layer)
        try:
            self.server = ApiServer(self.registry, host, port)
        except OSError as exc:
            raise FaultLayerError(
                f"cannot serve the Toxiproxy API on {host}:{port}: {exc.strerror or exc}; "
                "pick another --port (0 for a free one) or stop what holds it"
            ) from exc
        self.server.start()

    @property
    def url(self) -> str:
        """The API's base URL, ``http://HOST:PORT``."""
        host = self.server.server_address[0]
        host = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server.port}"

    def populate_file(self, path: Path) -> list[ProxyRecord]:
        """Create the proxies of a Toxiproxy ``-config`` file (a JSON list, as ``/populate``).

        Raises:
            UsageError: the file cannot be read, is not such a list, or a proxy in it
                cannot be made (the message says which and why).
        """
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --config {path}: {exc.strerror or exc}") from None
        try:
            body = parse_body(raw)
        except GoDecodeError as exc:
            raise UsageError(f"--config {path} is not JSON: {exc}") from None
        records, error = self.registry.populate(body)
        if error is not None:
            raise UsageError(
                f"--config {path}: {error.message}; expected a JSON list of proxies such as "
                + json.dumps([{"name": "redis", "listen": "127.0.0.1:26379",
                               "upstream": "127.0.0.1:6379", "enabled": True}])
            )  # fmt: skip
        return records or []

    def close(self) -> None:
        """Stop the API and close every proxy it manages."""
        self.server.close()
        self.registry.close()

    def __enter__(self) -> ToxiproxyApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
