"""Fault injection: proxies between client and server that apply toxics.

Two backends implement :class:`FaultLayer` (see :mod:`wirefault.faults.base`):

* ``toxiproxy`` — Shopify's Toxiproxy, a server this layer connects to
  (``TOXIPROXY_URL``) or starts (``toxiproxy-server`` from ``TOXIPROXY_SERVER``
  or PATH): TCP only, Toxiproxy's own toxics;
* ``embedded`` — wirefault's asyncio proxy: every Toxiproxy toxic plus exact,
  seedable ones, UDP, and unix-socket upstreams. :mod:`wirefault.faults.api`
  serves Toxiproxy's own HTTP API over it (``wirefault proxy-server``).

:func:`open_fault_layer` picks one. ``auto`` prefers the real Toxiproxy when one
can be had, so that faults are the ones the rest of the world tests with, and
falls back to the embedded proxy. Backends are imported only when chosen, so
importing this package stays cheap.
"""

from __future__ import annotations

import os

from wirefault.errors import FaultLayerError, UsageError
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.toxics import (
    TOXICS,
    Bandwidth,
    Corrupt,
    Delay,
    Down,
    Drop,
    Duplicate,
    Latency,
    LimitData,
    Noop,
    Reorder,
    ResetPeer,
    Slicer,
    SlowClose,
    Split,
    Timeout,
    Toxic,
    Truncate,
    parse_toxic,
    toxic_from_json,
)

__all__ = [
    "BACKEND_NAMES",
    "TOXICS",
    "Bandwidth",
    "Corrupt",
    "Delay",
    "Down",
    "Drop",
    "Duplicate",
    "FaultLayer",
    "FaultProxy",
    "Latency",
    "LimitData",
    "Noop",
    "Reorder",
    "ResetPeer",
    "Slicer",
    "SlowClose",
    "Split",
    "Timeout",
    "Toxic",
    "Truncate",
    "open_fault_layer",
    "parse_toxic",
    "toxic_from_json",
]

#: The names :func:`open_fault_layer` accepts.
BACKEND_NAMES = ("auto", "embedded", "toxiproxy")
#: Seconds ``auto`` waits for ``$TOXIPROXY_URL`` to answer before looking elsewhere.
_PROBE_TIMEOUT = 1.0


def open_fault_layer(backend: str | None = None, *, transport: str = "tcp") -> FaultLayer:
    """Open a fault layer; the caller closes it (it is a context manager).

    Args:
        backend: ``auto``, ``embedded`` or ``toxiproxy``; None means
            ``$WIREFAULT_BACKEND``, else ``auto``. ``auto`` uses Toxiproxy when
            ``$TOXIPROXY_URL`` answers or a ``toxiproxy-server`` binary starts,
            else the embedded proxy.
        transport: ``tcp`` or ``udp`` — what the layer will proxy. UDP is always
            the embedded backend's (Toxiproxy is TCP only).

    Raises:
        UsageError: an unknown backend or transport, or ``toxiproxy`` with UDP.
        FaultLayerError: ``toxiproxy`` was asked for and none can be reached or
            started (the message says how to install it), or the backend failed.
    """
    name = (backend or os.environ.get("WIREFAULT_BACKEND") or "auto").strip().lower()
    if name not in BACKEND_NAMES:
        source = "" if backend else " (from WIREFAULT_BACKEND)"
        raise UsageError(
            f"unknown fault backend {name!r}{source}; choose one of: {', '.join(BACKEND_NAMES)}"
        )
    if transport not in ("tcp", "udp"):
        raise UsageError(f"unknown transport {transport!r} for a fault layer; use tcp or udp")
    if transport == "udp":
        if name == "toxiproxy":
            raise UsageError(
                "Toxiproxy proxies TCP only (UDP was declined upstream, issue #39); "
                "use --backend embedded or auto for UDP"
            )
        return _embedded()
    if name == "embedded":
        return _embedded()
    if name == "toxiproxy":
        return _toxiproxy()
    return _auto()


def _embedded() -> FaultLayer:
    from wirefault.faults.embedded import EmbeddedFaultLayer

    return EmbeddedFaultLayer()


def _toxiproxy() -> FaultLayer:
    """A Toxiproxy layer: ``$TOXIPROXY_URL`` if set, else a server started here."""
    from wirefault.faults.toxiproxy import ToxiproxyFaultLayer
    from wirefault.faults.toxiproxy_server import INSTALL_HINT, find_server_binary

    url = os.environ.get("TOXIPROXY_URL")
    if url:
        try:
            return ToxiproxyFaultLayer.connect(url)
        except FaultLayerError as exc:
            raise FaultLayerError(f"{exc} (or unset TOXIPROXY_URL to start a server here)") from exc
    if find_server_binary() is None:
        where = os.environ.get("TOXIPROXY_SERVER")
        found = (
            f"TOXIPROXY_SERVER={where} is not an executable file"
            if where
            else ("no toxiproxy-server on PATH")
        )
        raise FaultLayerError(f"the toxiproxy backend is not available: {found}; {INSTALL_HINT}")
    return ToxiproxyFaultLayer.start()


def _auto() -> FaultLayer:
    """Toxiproxy when it can be had without fuss, else the embedded proxy."""
    from wirefault.faults.toxiproxy import ToxiproxyFaultLayer
    from wirefault.faults.toxiproxy_server import find_server_binary

    url = os.environ.get("TOXIPROXY_URL")
    if url:
        try:
            return ToxiproxyFaultLayer.connect(url, probe_timeout=_PROBE_TIMEOUT)
        except (FaultLayerError, UsageError):
            pass  # not answering (or malformed): look for a binary, then embedded
    if find_server_binary() is not None:
        try:
            return ToxiproxyFaultLayer.start()
        except FaultLayerError:
            pass  # a binary that will not start: the embedded proxy still works
    return _embedded()
