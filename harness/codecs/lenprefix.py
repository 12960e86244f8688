"""The ``lenprefix`` codec: a fixed-width unsigned length, then that many bytes.

A frame is the body (the payload). The header is ``header_bytes`` wide (1, 2,
4 or 8) in ``byteorder``. A declared length beyond ``max_frame`` is an error
as soon as the header is complete, so a hostile length never makes the
decoder wait for (or buffer) a gigabyte.

``max_frame`` is capped at what the header can express (255 for a 1-byte
header, 65535 for 2 bytes): ``LenPrefixCodec(header_bytes=1).max_frame == 255``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.codecs.completion import lenprefix_completion
from wirefault.errors import CodecError, FrameError, UsageError

__all__ = ["HEADER_SIZES", "LenPrefixCodec", "LenPrefixDecoder"]

#: The header widths the codec supports, in bytes.
HEADER_SIZES = (1, 2, 4, 8)

ByteOrder = Literal["big", "little"]


class LenPrefixDecoder(Decoder):
    """Cuts a stream into length-prefixed frames."""

    def __init__(self, header_bytes: int, byteorder: ByteOrder, max_frame: int) -> None:
        """Create a decoder for ``header_bytes``-wide ``byteorder`` lengths up to ``max_frame``."""
        self._header = header_bytes
        self._order: ByteOrder = byteorder
        self._max = max_frame
        self._buf = bytearray()
        self._length = -1  # body length once the header is complete
        self._consumed = 0  # stream bytes before _buf (for FrameError.offset)

    @property
    def pending(self) -> int:
        """Bytes of the unfinished frame, header included."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Return the frames ``data`` completes (``b""`` = end of stream).

        Raises:
            FrameError: a length beyond ``max_frame``, or the stream ends inside
                a header or a body.
        """
        if not data:
            if self._buf:
                raise self._truncated()
            return []
        self._buf += data
        frames: list[bytes] = []
        start = 0
        while True:
            if self._length < 0:
                if len(self._buf) - start < self._header:
                    break
                header = bytes(self._buf[start : start + self._header])
                self._length = int.from_bytes(header, self._order)
                if self._length > self._max:
                    raise FrameError(
                        f"lenprefix: header {header.hex()} declares {self._length} bytes, beyond "
                        f"max_frame={self._max}; the peer sent a bad length, a different header "
                        "width or byte order (check --header-bytes/--byteorder)",
                        offset=self._consumed + start,
                    )
            end = start + self._header + self._length
            if len(self._buf) < end:
                break
            frames.append(bytes(self._buf[start + self._header : end]))
            start = end
            self._length = -1
        del self._buf[:start]
        self._consumed += start
        return frames

    def _truncated(self) -> FrameError:
        if self._length < 0:
            where = f"inside the {self._header}-byte header ({len(self._buf)} bytes of it)"
        else:
            got = len(self._buf) - self._header
            where = f"inside a {self._length}-byte body ({got} bytes of it)"
        return FrameError(
            f"lenprefix: stream ended {where}; the peer closed mid-frame",
            offset=self._consumed,
        )


@dataclass(frozen=True)
class LenPrefixCodec(Codec):
    """Length-prefixed frames.

    Attributes:
        header_bytes: width of the length header: 1, 2, 4 (default) or 8.
        byteorder: ``"big"`` (network order, default) or ``"little"``.
        max_frame: the largest body, default 1 MiB, capped at what the header
            can express.
    """

    name: ClassVar[str] = "lenprefix"
    transport: ClassVar[Transport] = "stream"

    header_bytes: int = 4
    byteorder: ByteOrder = "big"
    max_frame: int = 1 << 20

    def __post_init__(self) -> None:
        if self.header_bytes not in HEADER_SIZES:
            choices = ", ".join(map(str, HEADER_SIZES))
            raise UsageError(
                f"lenprefix: header_bytes must be one of {choices}, got {self.header_bytes!r}"
            )
        if self.byteorder not in ("big", "little"):
            raise UsageError(
                f"lenprefix: byteorder must be 'big' or 'little', got {self.byteorder!r}"
            )
        if self.max_frame < 1:
            raise UsageError(f"lenprefix: max_frame must be >= 1, got {self.max_frame}")
        # A frozen dataclass sets its fields once, here included: cap, don't reject,
        # so that --header-bytes 1 works without also lowering --max-frame.
        object.__setattr__(self, "max_frame", min(self.max_frame, self._header_limit))

    @property
    def _header_limit(self) -> int:
        return (1 << (8 * self.header_bytes)) - 1

    def options(self) -> Mapping[str, OptionValue]:
        """``{"header_bytes": ..., "byteorder": ..., "max_frame": ...}``."""
        return {
            "header_bytes": self.header_bytes,
            "byteorder": self.byteorder,
            "max_frame": self.max_frame,
        }

    def encode(self, payload: bytes) -> bytes:
        """Return the length header followed by ``payload``.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame` (which is
                never more than the header can express).
        """
        if len(payload) > self.max_frame:
            raise CodecError(
                f"lenprefix: payload of {len(payload)} bytes exceeds max_frame={self.max_frame} "
                f"(a {self.header_bytes}-byte header holds at most {self._header_limit}); "
                "pass a shorter payload or raise --max-frame/--header-bytes"
            )
        return len(payload).to_bytes(self.header_bytes, self.byteorder) + payload

    def payload_of(self, request: bytes) -> bytes:
        """The body of ``request`` (what follows the header)."""
        return request[self.header_bytes :]

    def completion(self, prefix: bytes, *, limit: int) -> bytes | None:
        """The rest of the last frame's header and body, whatever length it declares."""
        return lenprefix_completion(
            prefix, header_bytes=self.header_bytes, byteorder=self.byteorder, limit=limit
        )

    def request_decoder(self) -> Decoder:
        """A :class:`LenPrefixDecoder` with this codec's options."""
        return LenPrefixDecoder(self.header_bytes, self.byteorder, self.max_frame)

    def response_decoder(self) -> Decoder:
        """A :class:`LenPrefixDecoder` with this codec's options."""
        return LenPrefixDecoder(self.header_bytes, self.byteorder, self.max_frame)
