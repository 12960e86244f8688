"""The ``line`` codec: ``\\n``-terminated lines, ``\\r\\n`` tolerated.

A frame is the line without its terminator: ``b"abc\\n"`` and ``b"abc\\r\\n"``
both give ``b"abc"``; a ``\\r`` anywhere else is part of the line. Lines are
bounded by ``max_line`` (terminator excluded), and the decoder never buffers
more than that: a line that grows past it is an error at once, not when its
newline finally arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.codecs.completion import line_completion
from wirefault.errors import CodecError, FrameError, UsageError

__all__ = ["LineCodec", "LineDecoder"]

# encode() cannot carry line terminators inside a line: both become a space.
_SAFE = bytes.maketrans(b"\r\n", b"  ")


class LineDecoder(Decoder):
    """Cuts a stream into lines of at most ``max_line`` bytes."""

    def __init__(self, max_line: int) -> None:
        """Create a decoder for lines of at most ``max_line`` bytes."""
        self._max_line = max_line
        self._buf = bytearray()
        self._consumed = 0  # stream bytes before _buf (for FrameError.offset)

    @property
    def pending(self) -> int:
        """Bytes of the unfinished line."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Return the lines ``data`` completes (``b""`` = end of stream).

        Raises:
            FrameError: a line is longer than ``max_line``, or the stream ends
                inside a line.
        """
        if not data:
            if self._buf:
                raise FrameError(
                    f"line: stream ended inside a line: {len(self._buf)} bytes "
                    f"{bytes(self._buf[:40])!r} without a \\n; the peer must end every line",
                    offset=self._consumed,
                )
            return []
        # _buf held no \n before this call, so the search can start at the new data.
        scan = len(self._buf)
        self._buf += data
        frames: list[bytes] = []
        start = 0
        while (end := self._buf.find(b"\n", max(start, scan))) >= 0:
            stop = end - 1 if end > start and self._buf[end - 1] == 0x0D else end
            self._check_length(stop - start, self._consumed + start)
            frames.append(bytes(self._buf[start:stop]))
            start = end + 1
        del self._buf[:start]
        self._consumed += start
        # An unfinished line may be max_line bytes plus the \r of a \r\n.
        rest = len(self._buf)
        if rest > self._max_line and not (rest == self._max_line + 1 and self._buf[-1] == 0x0D):
            self._check_length(rest, self._consumed, finished=False)
        return frames

    def _check_length(self, length: int, offset: int, *, finished: bool = True) -> None:
        if length <= self._max_line:
            return
        what = f"a line of {length} bytes" if finished else f"{length} bytes without a newline"
        raise FrameError(
            f"line: {what} exceeds max_line={self._max_line}; the peer sends longer lines "
            "than allowed (raise --max-line if they are legitimate)",
            offset=offset,
        )


#: The least room a reply line gets, whatever ``max_line`` is.
RESPONSE_LINE_LIMIT = 1 << 20


@dataclass(frozen=True)
class LineCodec(Codec):
    """Newline-terminated lines.

    Attributes:
        max_line: the longest line in bytes, terminator excluded (default 8192).
    """

    name: ClassVar[str] = "line"
    transport: ClassVar[Transport] = "stream"

    max_line: int = 8192

    def __post_init__(self) -> None:
        if self.max_line < 1:
            raise UsageError(f"line: max_line must be >= 1, got {self.max_line}")

    @property
    def max_frame(self) -> int:
        """The longest payload: ``max_line``."""
        return self.max_line

    def options(self) -> Mapping[str, OptionValue]:
        """``{"max_line": ...}``."""
        return {"max_line": self.max_line}

    def encode(self, payload: bytes) -> bytes:
        """Return ``payload`` with ``\\r`` and ``\\n`` turned into spaces, plus ``\\n``.

        Raises:
            CodecError: ``payload`` is longer than ``max_line``.
        """
        if len(payload) > self.max_line:
            raise CodecError(
                f"line: payload of {len(payload)} bytes exceeds max_line={self.max_line}; "
                "pass a shorter payload or raise --max-line"
            )
        return payload.translate(_SAFE) + b"\n"

    def payload_of(self, request: bytes) -> bytes:
        """The line without its terminator."""
        return request.removesuffix(b"\n").removesuffix(b"\r")

    def reframe(self, request: bytes, payload: bytes) -> bytes:
        """:meth:`encode`, ended like ``request`` (``\\r\\n`` or ``\\n``).

        Raises:
            CodecError: ``payload`` is longer than ``max_line``.
        """
        line = self.encode(payload)
        return line[:-1] + b"\r\n" if request.endswith(b"\r\n") else line

    def probe(self) -> bytes:
        """``b"wirefault-probe\\n"``."""
        return b"wirefault-probe\n"

    def completion(self, prefix: bytes, *, limit: int) -> bytes | None:
        """``b"\\n"`` when ``prefix`` ends inside a line (whatever its length), else ``b""``."""
        return line_completion(prefix)

    def request_decoder(self) -> Decoder:
        """A :class:`LineDecoder` bounded by ``max_line``."""
        return LineDecoder(self.max_line)

    def response_decoder(self) -> Decoder:
        """A :class:`LineDecoder` for replies, bounded by ``max(4 * max_line, 1 MiB)``.

        ``max_line`` bounds what a client may send; replies routinely carry the
        request plus more (``OK <line>``), so they get more room, still bounded.
        """
        return LineDecoder(max(4 * self.max_line, RESPONSE_LINE_LIMIT))
