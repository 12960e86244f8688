"""What finishes an unfinished request: the bytes a client would send next.

A server that says nothing after some bytes may be waiting for the rest of a
frame. To tell that apart from a hang, the ``malformed`` property sends the rest
on a second play (:meth:`wirefault.codecs.base.Codec.completion`). The rest is
computed as a *lenient* server reads the stream, one whose limits are larger
than the codec's: a line longer than ``max_line`` is still finished by its
newline, a length beyond ``max_frame`` by that many body bytes. Body bytes are
:data:`FILL` repeated.

Every function returns ``b""`` when the bytes end where a frame ends, and None
when they cannot be finished (they are invalid whatever follows) or the rest
would exceed ``limit`` bytes: the caller then half-closes instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

__all__ = [
    "FILL",
    "Awaiting",
    "lenprefix_completion",
    "line_completion",
    "message_completion",
    "resp_completion",
]

#: The byte repeated to fill a body.
FILL = b"w"


def line_completion(prefix: bytes) -> bytes:
    """``b"\\n"`` when ``prefix`` ends inside a line (however long), else ``b""``."""
    return b"\n" if prefix.rpartition(b"\n")[2] else b""


def lenprefix_completion(
    prefix: bytes, *, header_bytes: int, byteorder: Literal["big", "little"], limit: int
) -> bytes | None:
    """The rest of the last length-prefixed frame of ``prefix``, whatever its length.

    A partial header is finished with zero bytes (the length it then declares is
    what the missing bytes being zero make it).
    """
    pos = 0
    while pos < len(prefix):
        have = len(prefix) - pos
        if have < header_bytes:
            missing = bytes(header_bytes - have)
            length = int.from_bytes(prefix[pos:] + missing, byteorder)
            rest = missing + FILL * length if length <= limit else None
            return rest if rest is not None and len(rest) <= limit else None
        length = int.from_bytes(prefix[pos : pos + header_bytes], byteorder)
        end = pos + header_bytes + length
        if end > len(prefix):
            needed = end - len(prefix)
            return FILL * needed if needed <= limit else None
        pos = end
    return b""


class _Invalid(Exception):
    """The bytes are not a RESP request whatever follows."""


class _RespRest:
    """Walks RESP requests (arrays of bulk strings, or inline lines) to where they stop.

    :meth:`value` returns where a complete request ends, or None after writing the
    rest of an unfinished one to ``out``.
    """

    def __init__(self, data: bytes, limit: int) -> None:
        self.data = data
        self.limit = limit
        self.out = bytearray()

    def _line(self, pos: int) -> tuple[bytes, int | None]:
        """The line at ``pos`` without its terminator, and where the next begins (None: unended)."""
        end = self.data.find(b"\n", pos)
        if end < 0:
            return self.data[pos:], None
        return self.data[pos:end].rstrip(b"\r"), end + 1

    def _end_line(self, text: bytes, default: bytes) -> bytes:
        """Finish an unended header line ``text`` (type byte included); its digits."""
        digits = text[1:].rstrip(b"\r")
        if not digits:
            self.out += default
            digits = default
        self.out += b"\n" if text.endswith(b"\r") else b"\r\n"
        return digits

    def _number(self, text: bytes) -> int:
        if not text.isdigit() or len(text) > 18:
            raise _Invalid
        return int(text)

    def value(self, pos: int) -> int | None:
        """A top-level request at ``pos``."""
        text, nxt = self._line(pos)
        if text[:1] != b"*":  # an inline command: one line
            if nxt is None:
                self.out += b"\n" if text.endswith(b"\r") else b"\r\n"
            return nxt
        if nxt is None:
            self._empty_bulks(self._number(self._end_line(text, b"1")))
            return None
        count = self._number(text[1:])
        for done in range(count):
            nxt = self._bulk(nxt)
            if nxt is None:
                self._empty_bulks(count - done - 1)
                return None
        return nxt

    def _empty_bulks(self, n: int) -> None:
        if n > self.limit:
            raise _Invalid
        self.out += b"$0\r\n\r\n" * n

    def _bulk(self, pos: int) -> int | None:
        if pos >= len(self.data):
            self._empty_bulks(1)
            return None
        text, start = self._line(pos)
        if text[:1] != b"$":
            raise _Invalid
        if start is None:
            self._fill(self._number(self._end_line(text, b"0")), 0)
            return None
        length = self._number(text[1:])
        end = start + length + 2
        if end <= len(self.data):
            if self.data[end - 2 : end] != b"\r\n":
                raise _Invalid
            return end
        self._fill(length, len(self.data) - start)
        return None

    def _fill(self, length: int, have: int) -> None:
        """The rest of a ``length``-byte bulk body of which ``have`` bytes (maybe its CR) came."""
        if length > self.limit:
            raise _Invalid
        if have <= length:
            self.out += FILL * (length - have) + b"\r\n"
        elif self.data.endswith(b"\r"):  # have == length + 1: the body and its CR
            self.out += b"\n"
        else:
            raise _Invalid


def resp_completion(prefix: bytes, *, limit: int) -> bytes | None:
    """The rest of the last RESP request of ``prefix``: line ends, bulk bodies, array elements.

    Missing array elements become empty bulk strings; a header cut before its
    number is finished as ``*1`` or ``$0``.
    """
    walker = _RespRest(prefix, limit)
    pos = 0
    try:
        while pos < len(prefix):
            nxt = walker.value(pos)
            if nxt is None:
                rest = bytes(walker.out)
                return rest if len(rest) <= limit else None
            pos = nxt
    except _Invalid:
        return None
    return b""


#: What an unfinished message still needs: ``("nothing", 0)`` at a message boundary,
#: ``("head", 0)`` inside the start line or headers, ``("body", n)`` n more body bytes,
#: ``("chunked", 0)`` inside a chunked body. None: the bytes are invalid.
Awaiting = tuple[str, int] | None


def message_completion(
    prefix: bytes, *, limit: int, awaiting: Callable[[bytes], Awaiting]
) -> bytes | None:
    """The rest of the last message of a head-and-body protocol (HTTP/1.1).

    ``awaiting`` reads the bytes as a lenient server does and says what is missing.
    An unfinished head is ended (its line, then the blank line) and a
    Content-Length body filled; a chunked body is not finished (None).
    """
    rest = b""
    for _ in range(3):  # at most: end the head, then fill the body, then done
        data = prefix + rest
        state = awaiting(data)
        if state is None or state[0] == "chunked":
            return None
        what, needed = state
        if what == "nothing":
            return rest
        if what == "head":
            rest += (
                b"\n\r\n"
                if data.endswith(b"\r")
                else b"\r\n"
                if data.endswith(b"\n")
                else b"\r\n\r\n"
            )
        else:
            rest += FILL * needed
        if len(rest) > limit:
            return None
    return None
