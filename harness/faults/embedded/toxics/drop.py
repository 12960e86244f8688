"""drop (UDP): lose the chosen datagrams."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._datagram import (
    Datagram,
    DatagramStub,
    DatagramToxic,
    chosen,
    register_datagram,
)
from wirefault.faults.toxics import Drop

__all__ = ["DropToxic"]


@register_datagram
class DropToxic(DatagramToxic):
    """A chosen datagram (by index, then seeded probability) goes nowhere."""

    type = "drop"

    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Drop the datagram if chosen, else pass it on."""
        cfg = stub.config(Drop)
        if not chosen(stub, dgram, cfg.indices, cfg.probability):
            stub.emit(dgram)
