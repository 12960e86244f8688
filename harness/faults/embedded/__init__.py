"""The embedded fault backend: Toxiproxy's toxics in pure-Python asyncio, plus exact faults and UDP.

::

    EmbeddedFaultLayer ── one daemon thread, one event loop (started on first use)
      └─ EmbeddedProxy ── sync, thread-safe face of a TcpProxy or UdpProxy
           TCP: per connection, per direction:  Input > stub > stub > Output
           UDP: per client flow, per direction: datagram > stub > stub > socket

Each toxic is one small module under ``toxics/`` registered by Toxiproxy's
type name; its configuration is the frozen value from
:mod:`wirefault.faults.toxics`, its per-connection state lives on a stub, and
every random choice comes from a generator seeded by the toxic's ``seed``.
"""

from __future__ import annotations

from wirefault.faults.embedded.layer import EmbeddedFaultLayer, EmbeddedProxy

__all__ = ["EmbeddedFaultLayer", "EmbeddedProxy"]
