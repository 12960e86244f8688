"""timeout: swallow all data; close the connection after ``timeout`` ms without data."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import (
    Chunk,
    End,
    StreamStub,
    StreamToxic,
    register_stream,
)
from wirefault.faults.toxics import Timeout

__all__ = ["TimeoutToxic"]


@register_stream
class TimeoutToxic(StreamToxic):
    """Drop every chunk. An idle timeout: each chunk restarts the clock; 0 never closes.

    As Toxiproxy, removing the toxic from a connection it still holds closes
    that connection (the data it swallowed cannot be given back).
    """

    type = "timeout"

    async def pipe(self, stub: StreamStub) -> None:
        """Drop data until the End, the timeout (close) or an interrupt."""
        timeout = stub.config(Timeout).timeout
        while True:
            item = await stub.recv(timeout / 1000 if timeout > 0 else None)
            if item is None:
                if not stub.interrupted:
                    stub.send(End("close"))
                return
            if not isinstance(item, Chunk):
                stub.send(item)
                return

    def cleanup(self, stub: StreamStub) -> None:
        """Removing the toxic closes the connection, as in Toxiproxy."""
        stub.send(End("close"))
