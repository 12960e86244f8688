"""limit_data: forward exactly ``bytes`` bytes in this direction, then close the connection."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import (
    Chunk,
    End,
    StreamStub,
    StreamToxic,
    register_stream,
)
from wirefault.faults.toxics import LimitData

__all__ = ["LimitDataToxic"]


@register_stream
class LimitDataToxic(StreamToxic):
    """Count bytes per connection and direction; at the limit, close (FIN to both sides).

    ``bytes=0`` closes on the first data, as in Toxiproxy. The count survives
    an update of the limit (it lives in the stub's state), as in Toxiproxy.
    """

    type = "limit_data"

    async def pipe(self, stub: StreamStub) -> None:
        """Forward up to the limit, then send a close down the chain."""
        limit = stub.config(LimitData).bytes
        while (item := await stub.recv()) is not None:
            if not isinstance(item, Chunk):
                stub.send(item)
                return
            sent = stub.state.get("sent", 0)
            data = item.data[: max(limit - sent, 0)]
            if data:
                stub.send(Chunk(data, item.offset, item.at))
                sent = stub.state["sent"] = sent + len(data)
            if sent >= limit:
                stub.send(End("close"))
                return
