"""duplicate (UDP): send chosen datagrams ``copies`` extra times."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._datagram import (
    Datagram,
    DatagramStub,
    DatagramToxic,
    chosen,
    register_datagram,
)
from wirefault.faults.toxics import Duplicate

__all__ = ["DuplicateToxic"]


@register_datagram
class DuplicateToxic(DatagramToxic):
    """A chosen datagram goes out ``1 + copies`` times, back to back."""

    type = "duplicate"

    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Emit the datagram, plus its copies if chosen."""
        cfg = stub.config(Duplicate)
        copies = cfg.copies if chosen(stub, dgram, cfg.indices, cfg.probability) else 0
        for _ in range(1 + copies):
            stub.emit(dgram)
