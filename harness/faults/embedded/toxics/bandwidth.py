"""bandwidth: pace a stream to ``rate`` KB/s (1 KB = 1000 B), as Toxiproxy does."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import Bandwidth

__all__ = ["BandwidthToxic"]

#: Toxiproxy sends a slow stream in pieces of ``rate * 100`` bytes every 100 ms.
_TICK = 0.1


@register_stream
class BandwidthToxic(StreamToxic):
    """Forward at ``rate`` bytes per ms: big chunks in rate*100-byte pieces every 100 ms.

    ``rate=0`` stalls the stream: nothing (not even the EOF) passes until the
    toxic is removed. That is what Toxiproxy 2.12 does too — its loop then
    sends empty pieces forever — so both backends agree.
    """

    type = "bandwidth"

    async def pipe(self, stub: StreamStub) -> None:
        """Pace chunks; on interrupt pass the rest of the held chunk on at once."""
        rate = stub.config(Bandwidth).rate
        if rate <= 0:
            await stub.sleep(None)
            return
        step = rate * 100
        debt = 0.0  # seconds of sending time owed, carried across chunks
        while (item := await stub.recv()) is not None:
            if not isinstance(item, Chunk):
                stub.send(item)
                return
            data, offset = item.data, item.offset
            debt += len(data) / (rate * 1000)
            while len(data) > step:
                if not await stub.sleep(_TICK):
                    stub.send(Chunk(data, offset, item.at))
                    return
                stub.send(Chunk(data[:step], offset, item.at))
                data, offset = data[step:], offset + step
                debt -= _TICK
            start = stub.now()
            slept = await stub.sleep(debt)
            debt -= stub.now() - start
            stub.send(Chunk(data, offset, item.at))
            if not slept:
                return
