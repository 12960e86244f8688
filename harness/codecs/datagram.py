"""The ``datagram`` codec: one UDP datagram is one frame.

For datagram transport the stream contract of :meth:`Decoder.feed` is read
differently, because a datagram socket has no end of stream:

* ``feed`` is called exactly once per datagram received, with its bytes;
* ``b""`` is therefore an *empty datagram*, which is valid, and comes back as
  the frame ``b""`` (``feed(b"") == [b""]``);
* there is no EOF and nothing is ever pending, so ``feed`` never raises.

Received datagrams are not checked against ``max_frame``: it bounds what we
send, and a server's reply may legitimately be larger than a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.errors import CodecError, UsageError

__all__ = ["MAX_UDP_PAYLOAD", "DatagramCodec", "DatagramDecoder"]

#: The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header).
MAX_UDP_PAYLOAD = 65507


class DatagramDecoder(Decoder):
    """Each call to :meth:`feed` is one datagram, and is returned as one frame."""

    def feed(self, data: bytes) -> list[bytes]:
        """Return ``[data]``; ``b""`` is an empty datagram, not end of stream."""
        return [bytes(data)]

    @property
    def pending(self) -> int:
        """Always 0: datagrams are never partial."""
        return 0


@dataclass(frozen=True)
class DatagramCodec(Codec):
    """Datagrams: a request is one datagram carrying the payload as is.

    Attributes:
        max_frame: the largest payload :meth:`encode` accepts (default 65507,
            the most UDP over IPv4 can carry).
    """

    name: ClassVar[str] = "datagram"
    transport: ClassVar[Transport] = "datagram"

    max_frame: int = MAX_UDP_PAYLOAD

    def __post_init__(self) -> None:
        if not 1 <= self.max_frame <= MAX_UDP_PAYLOAD:
            raise UsageError(
                f"datagram: max_frame must be between 1 and {MAX_UDP_PAYLOAD} "
                f"(the largest UDP payload), got {self.max_frame}"
            )

    def options(self) -> Mapping[str, OptionValue]:
        """``{"max_frame": ...}``."""
        return {"max_frame": self.max_frame}

    def encode(self, payload: bytes) -> bytes:
        """Return ``payload`` unchanged: it is sent as one datagram.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        if len(payload) > self.max_frame:
            raise CodecError(
                f"datagram: payload of {len(payload)} bytes exceeds max_frame={self.max_frame}; "
                "pass a shorter payload or raise --max-frame"
            )
        return bytes(payload)

    def payload_of(self, request: bytes) -> bytes:
        """``request`` itself: the payload is the whole request."""
        return request

    def request_decoder(self) -> Decoder:
        """A :class:`DatagramDecoder`."""
        return DatagramDecoder()

    def response_decoder(self) -> Decoder:
        """A :class:`DatagramDecoder`."""
        return DatagramDecoder()
