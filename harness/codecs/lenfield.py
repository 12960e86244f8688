"""The ``lenfield`` codec: a length field anywhere in the header (after Netty's decoder).

Netty's ``LengthFieldBasedFrameDecoder`` names the parameters; the code is ours.

A frame is ``length_offset`` bytes of header, the length field, then the rest::

    | head (length_offset bytes) | length field | after the field ...              |
    frame end = length_offset + size of the field + value + length_adjust

The field is ``length_bytes`` wide (1, 2, 3, 4 or 8, in ``byteorder``) or a
``varint``: 7-bit groups, least significant first, the top bit of each byte set
when another follows (MQTT's remaining length, protobuf). ``length_adjust`` is
signed: PostgreSQL's length counts itself (-4), memcached's binary header has
12 more bytes after its body length (12). A frame is the whole frame, header
included, so the type byte or transaction id before the field is compared too.

============================  ======  =====  ======
protocol                      offset  bytes  adjust
============================  ======  =====  ======
DNS over TCP                  0       2      0
MQTT                          1       varint 0
PostgreSQL (typed messages)   1       4      -4
TLS records                   3       2      0
Modbus/TCP                    4       2      0
memcached binary              8       4      12
============================  ======  =====  ======

``max_frame`` bounds the bytes after the field (the *payload* of :meth:`encode`),
and is capped at what the field can express. A declared length beyond it, or one
that would end the frame inside its own header, is an error as soon as the field
is read, so a hostile length never makes the decoder wait for (or buffer) more.

:meth:`encode` puts zeros before the field; requests built from a sample keep the
sample's own head (:meth:`reframe`): the transaction id, packet type or opcode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.errors import CodecError, FrameError, UsageError

__all__ = ["FIELD_SIZES", "LenFieldCodec", "LenFieldDecoder", "decode_varint", "encode_varint"]

#: The fixed field widths the codec supports, in bytes (or ``"varint"``).
FIELD_SIZES = (1, 2, 3, 4, 8)
#: The longest varint read (a 64-bit value needs 10 groups of 7 bits).
MAX_VARINT_BYTES = 10

ByteOrder = Literal["big", "little"]


def encode_varint(value: int) -> bytes:
    """``value`` (>= 0) as 7-bit groups, least significant first, continuation bit 0x80."""
    out = bytearray()
    while True:
        group = value & 0x7F
        value >>= 7
        if value:
            out.append(group | 0x80)
        else:
            out.append(group)
            return bytes(out)


def decode_varint(data: bytes | bytearray, start: int, max_bytes: int) -> tuple[int, int] | None:
    """The varint at ``data[start:]``: ``(value, size)``, or None if it is unfinished.

    Raises:
        ValueError: more than ``max_bytes`` bytes all carry the continuation bit.
    """
    value = 0
    for i in range(max_bytes):
        if start + i >= len(data):
            return None
        byte = data[start + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, i + 1
    raise ValueError(f"a varint longer than {max_bytes} bytes")


class LenFieldDecoder(Decoder):
    """Cuts a stream into frames whose length sits in a field of their header."""

    def __init__(self, codec: LenFieldCodec) -> None:
        """Create a decoder with ``codec``'s field layout and limit."""
        self._codec = codec
        self._buf = bytearray()
        self._end = -1  # where the current frame ends in _buf, once its field is read
        self._consumed = 0  # stream bytes before _buf (for FrameError.offset)

    @property
    def pending(self) -> int:
        """Bytes of the unfinished frame, header included."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Return the frames ``data`` completes (``b""`` = end of stream).

        Raises:
            FrameError: a length beyond ``max_frame`` or before the end of the field,
                a varint too long, or the stream ends inside a frame.
        """
        if not data:
            if self._buf:
                raise self._truncated()
            return []
        self._buf += data
        frames: list[bytes] = []
        start = 0
        while True:
            if self._end < 0:
                end = self._frame_end(start)
                if end is None:
                    break
                self._end = end
            if len(self._buf) < self._end:
                break
            frames.append(bytes(self._buf[start : self._end]))
            start, self._end = self._end, -1
        del self._buf[:start]
        self._consumed += start
        if self._end >= 0:
            self._end -= start
        return frames

    def _frame_end(self, start: int) -> int | None:
        """Where the frame starting at ``start`` ends, or None until its field is complete."""
        codec = self._codec
        field_at = start + codec.length_offset
        try:
            read = codec.read_field(self._buf, field_at)
        except ValueError as exc:
            raise self._error(
                f"{exc} at stream offset {self._consumed + field_at}", start
            ) from None
        if read is None:
            return None
        value, size = read
        after = value + codec.length_adjust
        if after < 0 or after > codec.max_frame:
            field = bytes(self._buf[field_at : field_at + size]).hex()
            header = codec.length_offset + size
            why = (
                f"beyond max_frame={codec.max_frame}"
                if after > 0
                else f"so the frame would end inside its own {header}-byte header"
            )
            raise self._error(
                f"length field {field} says {value} (+ adjust {codec.length_adjust} = {after} "
                f"bytes after the field), {why}",
                start,
            )
        return field_at + size + after

    def _error(self, problem: str, start: int) -> FrameError:
        return FrameError(
            f"lenfield: {problem}; the peer sent a bad length, or the field is elsewhere "
            "(check --length-offset/--length-bytes/--length-adjust/--byteorder)",
            offset=self._consumed + start,
        )

    def _truncated(self) -> FrameError:
        codec = self._codec
        if self._end < 0:
            where = f"inside the header ({len(self._buf)} bytes of it, the field unfinished)"
        else:
            where = f"inside a {self._end}-byte frame ({len(self._buf)} bytes of it)"
        return FrameError(
            f"lenfield: stream ended {where}; the peer closed mid-frame "
            f"(length field at offset {codec.length_offset})",
            offset=self._consumed,
        )


@dataclass(frozen=True)
class LenFieldCodec(Codec):
    """Frames with a length field at ``length_offset`` (see the module docstring).

    Attributes:
        length_offset: bytes of header before the length field (default 0).
        length_bytes: width of the field: 1, 2, 3, 4 (default), 8, or ``"varint"``.
        byteorder: ``"big"`` (network order, default) or ``"little"``; unused for varints.
        length_adjust: added to the field's value to get the bytes after the field
            (signed, default 0).
        max_frame: the most bytes after the field, default 1 MiB, capped at what the
            field can express.
    """

    name: ClassVar[str] = "lenfield"
    transport: ClassVar[Transport] = "stream"
    option_types: ClassVar[Mapping[str, tuple[type, ...]]] = {"length_bytes": (int, str)}

    length_offset: int = 0
    length_bytes: int | str = 4
    byteorder: ByteOrder = "big"
    length_adjust: int = 0
    max_frame: int = 1 << 20

    def __post_init__(self) -> None:
        if isinstance(self.length_bytes, bool) or self.length_bytes not in (*FIELD_SIZES, "varint"):
            raise UsageError(
                "lenfield: length_bytes must be one of 1, 2, 3, 4, 8 or 'varint', "
                f"got {self.length_bytes!r}"
            )
        if self.byteorder not in ("big", "little"):
            raise UsageError(
                f"lenfield: byteorder must be 'big' or 'little', got {self.byteorder!r}"
            )
        if self.length_offset < 0:
            raise UsageError(f"lenfield: length_offset must be >= 0, got {self.length_offset}")
        if self.max_frame < 1:
            raise UsageError(f"lenfield: max_frame must be >= 1, got {self.max_frame}")
        if self.max_frame < self.length_adjust:
            raise UsageError(
                f"lenfield: max_frame={self.max_frame} is below length_adjust="
                f"{self.length_adjust}: no frame could be valid; raise --max-frame"
            )
        if self._field_limit + self.length_adjust <= 0:
            raise UsageError(
                f"lenfield: length_adjust={self.length_adjust} needs field values the "
                f"{self.length_bytes}-byte field cannot hold"
            )
        # Cap, don't reject, as lenprefix does: --length-bytes 1 works without --max-frame.
        object.__setattr__(
            self, "max_frame", min(self.max_frame, self._field_limit + self.length_adjust)
        )

    @property
    def _field_limit(self) -> int:
        """The largest value the field holds."""
        if self.length_bytes == "varint":
            return (1 << (7 * MAX_VARINT_BYTES)) - 1
        return (1 << (8 * int(self.length_bytes))) - 1

    @property
    def varint(self) -> bool:
        """Whether the field is a varint."""
        return self.length_bytes == "varint"

    def options(self) -> Mapping[str, OptionValue]:
        """The five options, JSON-ready (``get_codec("lenfield", **options)``)."""
        return {
            "length_offset": self.length_offset,
            "length_bytes": self.length_bytes,
            "byteorder": self.byteorder,
            "length_adjust": self.length_adjust,
            "max_frame": self.max_frame,
        }

    def read_field(self, data: bytes | bytearray, at: int) -> tuple[int, int] | None:
        """The length field at ``data[at:]``: ``(value, size in bytes)``, None if unfinished.

        Raises:
            ValueError: a varint longer than any valid frame needs.
        """
        if not self.varint:
            width = int(self.length_bytes)
            if len(data) < at + width:
                return None
            return int.from_bytes(data[at : at + width], self.byteorder), width
        # No valid value needs more groups than the largest one does.
        limit = max(self.max_frame - self.length_adjust, 1)
        groups = min(MAX_VARINT_BYTES, -(-limit.bit_length() // 7))
        try:
            return decode_varint(data, at, groups)
        except ValueError:
            raise ValueError(
                f"a varint length of more than {groups} bytes (max_frame={self.max_frame} "
                f"needs at most {groups})"
            ) from None

    def field(self, after: int) -> bytes:
        """The length field for a frame with ``after`` bytes after the field."""
        value = after - self.length_adjust
        if self.varint:
            return encode_varint(value)
        return value.to_bytes(int(self.length_bytes), self.byteorder)

    def encode(self, payload: bytes) -> bytes:
        """Return zeros up to the field, the field, then ``payload``.

        A payload shorter than a positive ``length_adjust`` is padded with zeros to it
        (a memcached binary header always has its 12 bytes after the body length).

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        return self.reframe(bytes(self.length_offset), payload)

    def reframe(self, request: bytes, payload: bytes) -> bytes:
        """A request with ``request``'s head (the bytes before the field) carrying ``payload``.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        if len(payload) > self.max_frame:
            raise CodecError(
                f"lenfield: payload of {len(payload)} bytes exceeds max_frame={self.max_frame} "
                f"(the bytes after a {self.length_bytes}-byte length field); pass a shorter "
                "payload or raise --max-frame"
            )
        head = request[: self.length_offset].ljust(self.length_offset, b"\x00")
        payload = payload.ljust(self.length_adjust, b"\x00")
        return head + self.field(len(payload)) + payload

    def payload_of(self, request: bytes) -> bytes | None:
        """The bytes after the length field of one whole request (None if it has no field)."""
        try:
            read = self.read_field(request, self.length_offset)
        except ValueError:
            return None
        if read is None:
            return None
        return request[self.length_offset + read[1] :]

    def request_decoder(self) -> Decoder:
        """A :class:`LenFieldDecoder` with this codec's layout."""
        return LenFieldDecoder(self)

    def response_decoder(self) -> Decoder:
        """A :class:`LenFieldDecoder` with this codec's layout."""
        return LenFieldDecoder(self)
