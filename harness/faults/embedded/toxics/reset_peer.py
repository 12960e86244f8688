"""reset_peer: on the first data or EOF, wait ``timeout`` ms, then reset the connection."""

from __future__ import annotations

from wirefault.faults.embedded.toxics._stream import End, StreamStub, StreamToxic, register_stream
from wirefault.faults.toxics import ResetPeer

__all__ = ["ResetPeerToxic"]


@register_stream
class ResetPeerToxic(StreamToxic):
    """The first item (data or EOF) is swallowed and arms an RST to both sides.

    Once armed, the reset happens even if the toxic is removed meanwhile (in
    Toxiproxy the removal waits for it). Unlike Toxiproxy, connections that
    were open before the toxic was added get an RST too, not a FIN.
    """

    type = "reset_peer"

    async def pipe(self, stub: StreamStub) -> None:
        """Wait for the trigger, then for the timeout, then send a reset down the chain."""
        timeout = stub.config(ResetPeer).timeout / 1000
        if await stub.recv() is None:
            return
        start = stub.now()
        if await stub.sleep(timeout):
            stub.send(End("reset"))
        else:
            stub.reset_connection_later(timeout - (stub.now() - start))
