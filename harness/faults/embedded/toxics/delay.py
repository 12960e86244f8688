"""delay (UDP): hold chosen datagrams ``delay`` ms; later ones may overtake them."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._datagram import (
    Datagram,
    DatagramStub,
    DatagramToxic,
    chosen,
    register_datagram,
)
from wirefault.faults.toxics import Delay

__all__ = ["DelayToxic"]


@register_datagram
class DelayToxic(DatagramToxic):
    """A chosen datagram leaves ``delay`` ms after it came; others pass at once."""

    type = "delay"

    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Hold the datagram if chosen, else pass it on."""
        cfg = stub.config(Delay)
        if chosen(stub, dgram, cfg.indices, cfg.probability) and cfg.delay > 0:
            stub.hold(dgram, cfg.delay / 1000)
        else:
            stub.emit(dgram)
