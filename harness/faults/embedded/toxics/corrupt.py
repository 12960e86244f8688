"""corrupt (embedded extra): XOR chosen bytes with ``mask`` — stream offsets or datagram offsets."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._datagram import (
    Datagram,
    DatagramStub,
    DatagramToxic,
    register_datagram,
)
from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import Corrupt

__all__ = ["CorruptDatagramToxic", "CorruptStreamToxic", "xor_at"]


def xor_at(data: bytes, positions: list[int], mask: int) -> bytes:
    """``data`` with the bytes at ``positions`` (those inside it) XORed with ``mask & 0xFF``."""
    inside = [p for p in positions if 0 <= p < len(data)]
    if not inside:
        return data
    out = bytearray(data)
    for p in inside:
        out[p] ^= mask & 0xFF
    return bytes(out)


@register_stream
class CorruptStreamToxic(StreamToxic):
    """TCP: flip the bytes at absolute stream offsets (from 0 at connect, this direction)."""

    type = "corrupt"

    async def pipe(self, stub: StreamStub) -> None:
        """Corrupt each chunk where an offset falls inside it; chunk boundaries stay."""
        cfg = stub.config(Corrupt)
        while (item := await stub.recv()) is not None:
            if not isinstance(item, Chunk):
                stub.send(item)
                return
            positions = [o - item.offset for o in cfg.offsets]
            stub.send(Chunk(xor_at(item.data, positions, cfg.mask), item.offset, item.at))


@register_datagram
class CorruptDatagramToxic(DatagramToxic):
    """UDP: flip the bytes at ``offsets`` inside each datagram chosen by ``indices``."""

    type = "corrupt"

    def feed(self, stub: DatagramStub, dgram: Datagram) -> None:
        """Corrupt the datagram if chosen (offsets past its end are ignored)."""
        cfg = stub.config(Corrupt)
        if cfg.indices is None or dgram.index in cfg.indices:
            dgram = Datagram(xor_at(dgram.data, list(cfg.offsets), cfg.mask), dgram.index)
        stub.emit(dgram)
