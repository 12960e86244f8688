"""slicer: cut chunks into pieces of about ``average_size`` ± ``size_variation`` bytes."""

from __future__ import annotations

import itertools
import random

from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import Slicer

__all__ = ["SlicerToxic", "slice_bounds"]


def slice_bounds(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Cut points of a ``size``-byte chunk, from 0 to ``size``, by Toxiproxy's recursive halving.

    A span no more than ``variation`` over ``average`` stays whole; a longer
    one is cut near its middle, moved by a draw in [-variation, +variation).
    Every piece has at least one byte, whatever the attributes (0 included).
    """
    cuts = [0]
    stack = [(0, size)]
    while stack:
        start, end = stack.pop()
        span = end - start
        if span <= 1 or span - average <= variation:
            cuts.append(end)
            continue
        shift = rng.randrange(-variation, variation) if variation > 0 else 0
        mid = min(max(start + span // 2 + shift, start + 1), end - 1)
        stack.append((mid, end))
        stack.append((start, mid))
    return cuts


@register_stream
class SlicerToxic(StreamToxic):
    """Each chunk goes out as several writes, ``delay`` µs apart; cuts drawn from the seed.

    Towards a server on this machine each slice also waits until the server has
    read the one before (bounded, see ``Sink.wait_read``).

    Toxiproxy draws its cuts from Go's global generator, so they cannot be
    replayed; here they come from the stub's seeded generator.
    """

    type = "slicer"

    async def pipe(self, stub: StreamStub) -> None:
        """Slice each chunk; on interrupt pass its unsent rest on at once."""
        cfg = stub.config(Slicer)
        while (item := await stub.recv()) is not None:
            if not isinstance(item, Chunk):
                stub.send(item)
                return
            cuts = slice_bounds(len(item.data), cfg.average_size, cfg.size_variation, stub.rng)
            for start, end in itertools.pairwise(cuts):
                if start > 0 and not await stub.sleep(cfg.delay / 1e6):
                    stub.send(Chunk(item.data[start:], item.offset + start, item.at, cut=True))
                    return
                stub.send(Chunk(item.data[start:end], item.offset + start, item.at, cut=start > 0))
