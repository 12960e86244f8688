"""The ``resp`` codec: Redis's RESP2 protocol.

A frame is the exact bytes of one complete top-level value: a simple string
(``+OK``), an error (``-ERR ...``), an integer (``:1``), a bulk string
(``$3\\r\\nfoo``, null ``$-1``) or an array (``*2 ...``, null ``*-1``), arrays
nested to any depth. The parser is incremental: it keeps a stack of the
elements each open array still expects and the length of an awaited bulk
body, so it never re-reads bytes it has already accepted, whatever the split.

Requests are read as Redis reads them (``processInputBuffer``): a request
starting with ``*`` is an array of bulk strings (any other element type is an
error); anything else is an *inline* command, a line ended by ``\\n``. What
Redis ignores without a reply is consumed without a frame: blank inline
lines, ``*0`` and ``*-1``.

Limits, checked as soon as the offending header is read: a bulk string or
array longer than ``max_frame`` (default 1 MiB; Redis allows 512 MiB bulk
strings, far beyond a fuzzing budget), and lines (simple strings, errors,
integers, headers, inline commands) longer than :data:`MAX_LINE`. RESP lines
end in ``\\r\\n``; a bare ``\\n`` there is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.codecs.completion import resp_completion
from wirefault.errors import CodecError, FrameError, UsageError

__all__ = ["MAX_LINE", "RespCodec", "RespDecoder"]

#: The longest line, as Redis's ``PROTO_INLINE_MAX_SIZE`` (64 KiB).
MAX_LINE = 64 * 1024

_TYPES = b"+-:$*"
_NUMBER = re.compile(rb"-?[0-9]{1,19}")
_PING = b"*1\r\n$4\r\nPING\r\n"

# What parsing one item did.
_NEED = 0  # more bytes are needed
_OPENED = 1  # read a header (array or bulk length): its contents follow
_DONE = 2  # completed a value
_SKIPPED = 3  # consumed a top-level item Redis ignores (no frame)


class RespDecoder(Decoder):
    """Cuts a stream into RESP2 values (``request=True``: as a Redis server does)."""

    def __init__(self, max_frame: int, *, request: bool) -> None:
        """Create a decoder for values whose strings and arrays hold <= ``max_frame``."""
        self._max = max_frame
        self._request = request
        self._buf = bytearray()
        self._pos = 0  # where the next item of the current frame starts
        self._scan = 0  # where the search for the current line's \n resumes
        self._stack: list[int] = []  # elements each open array still expects
        self._bulk = -1  # length of the bulk body awaited at _pos, or -1
        self._consumed = 0  # stream bytes before _buf (for FrameError.offset)

    @property
    def pending(self) -> int:
        """Bytes of the unfinished top-level value."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Return the values ``data`` completes (``b""`` = end of stream).

        Raises:
            FrameError: a bad type byte, length, integer or line ending, a
                limit exceeded, or the stream ends inside a value.
        """
        if not data:
            if self._buf:
                raise FrameError(
                    f"resp: stream ended inside a value ({len(self._buf)} bytes "
                    f"{bytes(self._buf[:40])!r}); the peer closed mid-reply",
                    offset=self._consumed,
                )
            return []
        self._buf += data
        frames: list[bytes] = []
        while (step := self._item()) != _NEED:
            if step == _SKIPPED or (step == _DONE and self._close_arrays()):
                if step == _DONE:
                    frames.append(bytes(self._buf[: self._pos]))
                del self._buf[: self._pos]
                self._consumed += self._pos
                self._pos = self._scan = 0
        return frames

    def _close_arrays(self) -> bool:
        """Count a completed value in its array; True when a top-level value is done."""
        while self._stack:
            self._stack[-1] -= 1
            if self._stack[-1]:
                return False
            self._stack.pop()  # that array is complete: an element of its parent
        return True

    def _item(self) -> int:
        """Parse one item at ``_pos``: a bulk body, a header line or an inline command."""
        buf = self._buf
        if self._bulk >= 0:
            end = self._pos + self._bulk + 2
            if len(buf) < end:
                return _NEED
            if buf[end - 2 : end] != b"\r\n":
                tail = bytes(buf[end - 2 : end])
                raise self._error(
                    f"a {self._bulk}-byte bulk string is followed by {tail!r}, "
                    "not \\r\\n (its length is wrong)"
                )
            self._pos, self._bulk = end, -1
            return _DONE
        if self._pos >= len(buf):
            return _NEED
        kind = bytes(buf[self._pos : self._pos + 1])
        if self._request and not self._stack and kind != b"*":
            return self._inline()
        # A request is an inline command or an array of bulk strings.
        expected = (b"$" if self._stack else b"*") if self._request else _TYPES
        if kind not in expected:
            want = (
                "$ (a command is an array of bulk strings)"
                if expected == b"$"
                else "one of + - : $ *"
            )
            raise self._error(f"type byte {kind!r} where RESP2 expects {want}")
        line = self._line(crlf=True)
        if line is None:
            return _NEED
        content = bytes(line[1:])
        if kind in b"+-":
            return _DONE
        if kind == b":":
            self._number(content, "integer")
            return _DONE
        n = self._number(content, "bulk length" if kind == b"$" else "array length")
        if n > self._max:
            what = "a bulk string" if kind == b"$" else "an array"
            raise self._error(
                f"{what} of {n} {'bytes' if kind == b'$' else 'elements'} exceeds "
                f"max_frame={self._max} (raise --max-frame if legitimate)"
            )
        if kind == b"$":
            return self._bulk_header(n)
        return self._array_header(n)

    def _bulk_header(self, n: int) -> int:
        if n < (0 if self._request else -1):
            raise self._error(f"bulk length {n} is invalid (requests need >= 0, replies >= -1)")
        if n == -1:
            return _DONE  # null bulk string
        self._bulk = n
        return _OPENED

    def _array_header(self, n: int) -> int:
        if n < -1:
            raise self._error(f"array length {n} is invalid (expected >= -1)")
        if n <= 0:
            # Redis ignores an empty multibulk request; as a reply it is a value.
            return _SKIPPED if self._request else _DONE
        self._stack.append(n)
        return _OPENED

    def _inline(self) -> int:
        line = self._line(crlf=False)
        if line is None:
            return _NEED
        return _SKIPPED if not line.strip() else _DONE

    def _line(self, *, crlf: bool) -> bytearray | None:
        """The line at ``_pos`` (terminator excluded) and move past it, or None if unfinished."""
        end = self._buf.find(b"\n", max(self._scan, self._pos))
        if end < 0:
            self._scan = len(self._buf)
            if self._scan - self._pos > MAX_LINE:
                raise self._error(f"a line longer than {MAX_LINE} bytes without \\n")
            return None
        if end - self._pos > MAX_LINE + 1:
            raise self._error(f"a line of {end - self._pos} bytes (the limit is {MAX_LINE})")
        cr = end > self._pos and self._buf[end - 1] == 0x0D
        if crlf and not cr:
            raise self._error("a line ends in \\n without \\r (RESP lines end in \\r\\n)")
        line = self._buf[self._pos : end - 1 if cr else end]
        self._pos = self._scan = end + 1
        return line

    def _number(self, text: bytes, what: str) -> int:
        if not _NUMBER.fullmatch(text):
            raise self._error(f"{what} {text[:40]!r} is not a decimal integer")
        return int(text)

    def _error(self, problem: str) -> FrameError:
        role = "request" if self._request else "reply"
        return FrameError(
            f"resp: {problem}, in the {role} at stream offset {self._consumed}; "
            "the peer is not speaking RESP2 correctly (check --codec)",
            offset=self._consumed,
        )


@dataclass(frozen=True)
class RespCodec(Codec):
    """Redis RESP2: commands are arrays of bulk strings.

    Attributes:
        max_frame: the longest bulk string or array accepted, and the largest
            payload :meth:`encode` takes (default 1 MiB; Redis's own is 512 MiB).
    """

    name: ClassVar[str] = "resp"
    transport: ClassVar[Transport] = "stream"

    max_frame: int = 1 << 20

    def __post_init__(self) -> None:
        if self.max_frame < 1:
            raise UsageError(f"resp: max_frame must be >= 1, got {self.max_frame}")

    def options(self) -> Mapping[str, OptionValue]:
        """``{"max_frame": ...}``."""
        return {"max_frame": self.max_frame}

    def encode(self, payload: bytes) -> bytes:
        """Return the command ``payload.split(b" ")`` as an array of bulk strings.

        Splitting on every space keeps the payload recoverable (consecutive
        spaces give empty arguments); an empty payload is ``PING``.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        if len(payload) > self.max_frame:
            raise CodecError(
                f"resp: payload of {len(payload)} bytes exceeds max_frame={self.max_frame}; "
                "pass a shorter payload or raise --max-frame"
            )
        if not payload:
            return _PING
        args = payload.split(b" ")
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(parts)

    def probe(self) -> bytes:
        """``PING`` as a RESP array: ``*1\\r\\n$4\\r\\nPING\\r\\n``."""
        return _PING

    def completion(self, prefix: bytes, *, limit: int) -> bytes | None:
        """The rest of the last command: line ends, bulk bodies, missing elements (empty)."""
        return resp_completion(prefix, limit=limit)

    def request_decoder(self) -> Decoder:
        """A :class:`RespDecoder` reading commands as a Redis server does."""
        return RespDecoder(self.max_frame, request=True)

    def response_decoder(self) -> Decoder:
        """A :class:`RespDecoder` reading any RESP2 reply."""
        return RespDecoder(self.max_frame, request=False)
