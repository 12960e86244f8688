"""Toxic implementations of the embedded proxy, one small module per toxic type.

Each module registers its class by type name — Toxiproxy's names — in
:data:`STREAM_TOXICS` (TCP) or :data:`DATAGRAM_TOXICS` (UDP). Importing this
package imports them all. Adding a toxic: a value class in
``harness/faults/toxics.py``, one module here, one line below, one test.
"""

from __future__ import annotations

from wirefault.faults.embedded.toxics import (
    bandwidth,
    corrupt,
    delay,
    drop,
    duplicate,
    latency,
    limit_data,
    noop,
    reorder,
    reset_peer,
    slicer,
    slow_close,
    split,
    timeout,
    truncate,
)
from wirefault.faults.embedded.toxics._datagram import (
    DATAGRAM_TOXICS,
    Datagram,
    DatagramStub,
    DatagramToxic,
)
from wirefault.faults.embedded.toxics._stream import (
    STREAM_TOXICS,
    ByteGauge,
    Chunk,
    ChunkQueue,
    End,
    Item,
    StreamStub,
    StreamToxic,
)

__all__ = [
    "DATAGRAM_TOXICS",
    "STREAM_TOXICS",
    "ByteGauge",
    "Chunk",
    "ChunkQueue",
    "Datagram",
    "DatagramStub",
    "DatagramToxic",
    "End",
    "Item",
    "StreamStub",
    "StreamToxic",
]

# The modules above register themselves on import; keep the names referenced.
_MODULES = (
    bandwidth,
    corrupt,
    delay,
    drop,
    duplicate,
    latency,
    limit_data,
    noop,
    reorder,
    reset_peer,
    slicer,
    slow_close,
    split,
    timeout,
    truncate,
)
