"""The ``raw`` codec: an unframed byte stream.

Nothing on the wire says where a message ends, so the codec is unframed
(``framed = False``): a decoder hands back each piece of data as it arrives,
and responses are compared as one byte string (:meth:`Codec.join`) read
until the line goes quiet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.errors import CodecError, UsageError

__all__ = ["RawCodec", "RawDecoder"]


class RawDecoder(Decoder):
    """Every non-empty piece of data is a "frame"; EOF completes nothing."""

    def feed(self, data: bytes) -> list[bytes]:
        """Return ``[data]`` for data, ``[]`` at end of stream (``b""``)."""
        return [bytes(data)] if data else []

    @property
    def pending(self) -> int:
        """Always 0: nothing is ever held back."""
        return 0


@dataclass(frozen=True)
class RawCodec(Codec):
    """Unframed stream: requests are the payload bytes themselves.

    Attributes:
        max_frame: the largest payload :meth:`encode` accepts (default 1 MiB).
    """

    name: ClassVar[str] = "raw"
    transport: ClassVar[Transport] = "stream"
    framed: ClassVar[bool] = False

    max_frame: int = 1 << 20

    def __post_init__(self) -> None:
        if self.max_frame < 1:
            raise UsageError(f"raw: max_frame must be >= 1, got {self.max_frame}")

    def options(self) -> Mapping[str, OptionValue]:
        """``{"max_frame": ...}``."""
        return {"max_frame": self.max_frame}

    def encode(self, payload: bytes) -> bytes:
        """Return ``payload`` unchanged.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        if len(payload) > self.max_frame:
            raise CodecError(
                f"raw: payload of {len(payload)} bytes exceeds max_frame={self.max_frame}; "
                "pass a shorter payload or raise --max-frame"
            )
        return bytes(payload)

    def payload_of(self, request: bytes) -> bytes:
        """``request`` itself: the payload is the whole request."""
        return request

    def request_decoder(self) -> Decoder:
        """A :class:`RawDecoder`."""
        return RawDecoder()

    def response_decoder(self) -> Decoder:
        """A :class:`RawDecoder`."""
        return RawDecoder()
