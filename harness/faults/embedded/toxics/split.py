"""split (embedded extra): cut the stream at exact byte offsets, pieces ``delay`` µs apart."""

from __future__ import annotations

import itertools

from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import Split

__all__ = ["SplitToxic"]


@register_stream
class SplitToxic(StreamToxic):
    """Every byte offset in ``offsets`` (from the start of the stream) starts a new write.

    Before each such write the toxic waits ``delay`` µs, also when the offset
    falls on a boundary the source made itself, and the proxy then waits until
    a destination on this machine has read the bytes before it (bounded, see
    ``Sink.wait_read``), so that the reader sees each piece in its own recv().
    Pieces are never joined: a source that writes in smaller pieces than asked
    keeps its own extra boundaries.
    """

    type = "split"

    async def pipe(self, stub: StreamStub) -> None:
        """Cut chunks at the offsets; on interrupt pass the unsent rest on at once."""
        cfg = stub.config(Split)
        offsets = sorted(set(cfg.offsets))
        while (item := await stub.recv()) is not None:
            if not isinstance(item, Chunk):
                stub.send(item)
                return
            first, last = item.offset, item.offset + len(item.data)
            cuts = [o - first for o in offsets if o > 0 and first <= o < last]
            bounds = [0, *[c for c in cuts if c > 0], len(item.data)]
            for start, end in itertools.pairwise(bounds):
                at_cut = start in cuts
                if at_cut and not await stub.sleep(cfg.delay / 1e6):
                    stub.send(Chunk(item.data[start:], first + start, item.at, cut=True))
                    return
                stub.send(Chunk(item.data[start:end], first + start, item.at, cut=at_cut))
