"""reorder (UDP): release datagrams in groups of ``window``, each group reversed."""

from __future__ import annotations

import asyncio

from wirefault.faults.embedded.toxics._datagram import (
    Datagram,
    DatagramStub,
    DatagramToxic,
    register_datagram,
)
from wirefault.faults.toxics import Reorder

__all__ = ["ReorderToxic"]


@register_datagram
class ReorderToxic(DatagramToxic):
    """Hold datagrams until ``window`` are held, then send them last first.

    A group still short ``flush`` ms after its first datagram leaves as it
    is, in order, so nothing is lost. ``window`` 0 or 1 changes nothing. A
    group that would outgrow what a stub may hold (``HELD_DATAGRAMS``,
    ``HELD_BYTES``) leaves early, in order, like a flushed one.
    """

    type = "reorder"

    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Add the datagram to the group; release the group when full."""
        cfg = stub.config(Reorder)
        if cfg.window <= 1:
            stub.emit(dgram)
            return
        if not stub.room_for(dgram):
            self._stop_timer(stub)
            self._flush(stub)
        stub.keep(dgram)
        if len(stub.buffer) >= cfg.window:
            group = stub.take_buffer()[::-1]
            self._stop_timer(stub)
            for held in group:
                stub.emit(held)
        elif stub.timer is None:
            stub.timer = asyncio.get_running_loop().call_later(cfg.flush / 1000, self._flush, stub)

    @staticmethod
    def _flush(stub: DatagramStub) -> None:
        stub.timer = None
        for held in stub.take_buffer():
            stub.emit(held)

    @staticmethod
    def _stop_timer(stub: DatagramStub) -> None:
        if stub.timer is not None:
            stub.timer.cancel()
            stub.timer = None
