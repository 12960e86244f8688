"""slow_close: delay the end of a direction (EOF, close or reset) by ``delay`` ms."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import SlowClose

__all__ = ["SlowCloseToxic"]


@register_stream
class SlowCloseToxic(StreamToxic):
    """Data passes at once; the end that follows it waits ``delay`` ms."""

    type = "slow_close"

    async def pipe(self, stub: StreamStub) -> None:
        """Forward chunks; hold the End for the delay (interrupt: forward it now)."""
        delay = stub.config(SlowClose).delay
        while (item := await stub.recv()) is not None:
            if not isinstance(item, Chunk):
                await stub.sleep(delay / 1000)
                stub.send(item)
                return
            stub.send(item)
