"""noop: forward every item unchanged (Toxiproxy's ``noop``)."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import Chunk, StreamStub, StreamToxic, register_stream

__all__ = ["NoopToxic"]


@register_stream
class NoopToxic(StreamToxic):
    """Pass chunks on as they come; the End too."""

    type = "noop"

    async def pipe(self, stub: StreamStub) -> None:
        """Forward items until the End or an interrupt."""
        while (item := await stub.recv()) is not None:
            stub.send(item)
            if not isinstance(item, Chunk):
                return
