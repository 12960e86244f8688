"""truncate (UDP): cut chosen datagrams to their first ``size`` bytes."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._datagram import (
    Datagram,
    DatagramStub,
    DatagramToxic,
    chosen,
    register_datagram,
)
from wirefault.faults.toxics import Truncate

__all__ = ["TruncateToxic"]


@register_datagram
class TruncateToxic(DatagramToxic):
    """A chosen datagram keeps only its first ``size`` bytes (0: an empty datagram)."""

    type = "truncate"

    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Truncate the datagram if chosen, then pass it on."""
        cfg = stub.config(Truncate)
        if chosen(stub, dgram, cfg.indices, cfg.probability):
            dgram = Datagram(dgram.data[: cfg.size], dgram.index)
        stub.emit(dgram)
