"""latency: delay every chunk by ``latency`` ± ``jitter`` ms, keeping order."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import Latency

__all__ = ["LatencyToxic"]


@register_stream
class LatencyToxic(StreamToxic):
    """Each chunk leaves ``latency`` ms (+ jitter in [-jitter, +jitter)) after it was read.

    As Toxiproxy, the delay counts from the chunk's arrival, chunks leave in
    order, and the EOF follows the last chunk without delay of its own. What
    waits here is in flight (``delays``): the proxy keeps reading while up to
    32 MiB wait, so latency does not throttle the stream.
    """

    type = "latency"
    delays = True

    async def pipe(self, stub: StreamStub) -> None:
        """Delay chunks; on interrupt pass the held chunk on at once."""
        cfg = stub.config(Latency)
        while (item := await stub.recv()) is not None:
            if isinstance(item, Chunk):
                delay = cfg.latency
                if cfg.jitter > 0:
                    delay += stub.rng.randrange(-cfg.jitter, cfg.jitter)
                due = item.at + delay / 1000
                if not await stub.sleep(due - stub.now()):
                    stub.send(item)
                    return
                item = Chunk(item.data, item.offset, max(due, item.at))
            stub.send(item)
            if not isinstance(item, Chunk):
                return
