"""A wirefault codec for memcached's text protocol: a worked example of a user codec.

wirefault does not ship this codec; it shows what ``--codec memcache_text:MemcacheTextCodec``
(or the entry-point name ``memcache-text``, see pyproject.toml) needs (docs/CODECS.md):

* a frozen dataclass subclassing :class:`wirefault.codecs.Codec`, whose fields are
  its options (each with a default), with ``name`` and ``transport`` set;
* ``options()``, ``max_frame``, ``encode()``, and two decoders, sans-I/O: bytes in,
  whole frames out, any split of the stream giving the same frames.

Requests are what memcached parses: a command line ending in ``\\r\\n`` (or ``\\n``),
and for the storage commands (``set``, ``add``, ``replace``, ``append``, ``prepend``,
``cas``) the data block of the size the line declares, plus ``\\r\\n``. A reply is one
line (``STORED``, ``NOT_FOUND``, ``VERSION 1.6.18``, ``ERROR``...), or, for ``get`` and
``stats``, ``VALUE`` blocks or ``STAT`` lines up to ``END``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from wirefault.codecs import Codec, Decoder
from wirefault.codecs.base import OptionValue, Transport
from wirefault.errors import CodecError, FrameError, UsageError

__all__ = ["MemcacheTextCodec"]

#: memcached's own limit on a command line (its key limit is 250 bytes).
MAX_LINE = 2048
_STORAGE = {b"set", b"add", b"replace", b"append", b"prepend", b"cas"}
#: Lines that continue a multi-line reply up to END.
_CONTINUED = (b"STAT ", b"ITEM ", b"CONFIG ")


class _Lines(Decoder):
    """What both decoders share: a buffer of lines, some followed by a data block."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.buf = bytearray()
        self.start = 0  # where the current frame starts in buf
        self.pos = 0  # where the next line of the current frame starts
        self.block = -1  # bytes of data block still to skip (with its \r\n), or -1

    @property
    def pending(self) -> int:
        """Bytes of the unfinished frame."""
        return len(self.buf) - self.start

    def feed(self, data: bytes) -> list[bytes]:
        """Return the frames ``data`` completes (``b""`` = end of stream)."""
        if not data:
            if self.pending:
                raise FrameError(
                    f"memcache-text: stream ended inside a {self.what} "
                    f"({self.pending} bytes); the peer closed mid-frame"
                )
            return []
        self.buf += data
        frames = []
        while (done := self._step()) is not None:
            if done:
                frames.append(bytes(self.buf[self.start : self.pos]))
                self.start = self.pos
        del self.buf[: self.start]
        self.pos -= self.start
        self.start = 0
        return frames

    def _step(self) -> bool | None:
        """Consume one line or block: True when a frame ends, False to go on, None: need more."""
        if self.block >= 0:
            end = self.pos + self.block
            if len(self.buf) < end:
                return None
            if self.buf[end - 2 : end] != b"\r\n":
                raise FrameError(f"memcache-text: a data block in a {self.what} lacks its \\r\\n")
            self.pos, self.block = end, -1
            return self.after_block()
        end = self.buf.find(b"\n", self.pos)
        if end < 0:
            if len(self.buf) - self.pos > MAX_LINE:
                raise FrameError(f"memcache-text: a line longer than {MAX_LINE} bytes")
            return None
        line = bytes(self.buf[self.pos : end]).rstrip(b"\r")
        self.pos = end + 1
        return self.on_line(line)

    def on_line(self, line: bytes) -> bool:
        raise NotImplementedError

    def after_block(self) -> bool:
        raise NotImplementedError


class _Requests(_Lines):
    def __init__(self) -> None:
        super().__init__("request")

    def on_line(self, line: bytes) -> bool:
        words = line.split()
        if words[:1] and words[0] in _STORAGE and len(words) >= 5 and words[4].isdigit():
            self.block = int(words[4]) + 2
            return False
        return True  # any other line is a command (an unknown one gets ERROR)

    def after_block(self) -> bool:
        return True


class _Replies(_Lines):
    def __init__(self) -> None:
        super().__init__("reply")

    def on_line(self, line: bytes) -> bool:
        if line.startswith(b"VALUE "):
            words = line.split()
            if len(words) < 4 or not words[3].isdigit():
                raise FrameError(f"memcache-text: a bad VALUE line {line[:60]!r}")
            self.block = int(words[3]) + 2
            return False
        return not line.startswith(_CONTINUED)  # END, or a one-line reply

    def after_block(self) -> bool:
        return False  # more VALUE blocks, then END


@dataclass(frozen=True)
class MemcacheTextCodec(Codec):
    """memcached's text protocol.

    Attributes:
        max_frame: the largest payload :meth:`encode` takes (default 100 bytes: a
            ``get`` of a key of twice that many hex digits stays under 250 bytes).
    """

    name: ClassVar[str] = "memcache-text"
    transport: ClassVar[Transport] = "stream"

    max_frame: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.max_frame <= 123:
            raise UsageError(f"memcache-text: max_frame must be 1..123, got {self.max_frame}")

    def options(self) -> Mapping[str, OptionValue]:
        """``{"max_frame": ...}``."""
        return {"max_frame": self.max_frame}

    def encode(self, payload: bytes) -> bytes:
        """A ``get`` of a key made of the payload's hex digits (nothing ever sets it)."""
        if len(payload) > self.max_frame:
            raise CodecError(f"memcache-text: payload of {len(payload)} bytes > {self.max_frame}")
        return b"get wf:" + payload.hex().encode() + b"\r\n"

    def probe(self) -> bytes:
        """``version``: every memcached answers it."""
        return b"version\r\n"

    def request_decoder(self) -> Decoder:
        """Commands as memcached reads them."""
        return _Requests()

    def response_decoder(self) -> Decoder:
        """Replies: one line, or VALUE blocks / STAT lines up to END."""
        return _Replies()
