"""Valid HTTP/1.1 requests of many shapes, each a real RFC 9112 message.

:func:`http_messages` draws runs of requests the way real clients send them:

* methods GET, HEAD, POST, PUT, DELETE, OPTIONS (bodies only on POST and PUT);
* no body, a body framed by ``Content-Length``, or a chunked body (several
  chunks, sizes in either case with leading zeros, chunk extensions, a
  zero-size last chunk with its own extension, trailer fields);
* bodies as raw bytes, ``application/x-www-form-urlencoded`` fields, or
  ``multipart/form-data`` parts under a boundary that may be odd but legal
  (quoted, with spaces, ``(``, ``:``, ``?``...), with ``Expect: 100-continue``
  sometimes (the body follows at once, as RFC 9110 section 10.1.1 allows);
* a ``Cookie`` of many pairs, some values quoted; extra fields whose values
  have varied lengths and every allowed byte (VCHAR, inner SP and HTAB, obs-text);
* HTTP/1.1 keep-alive, and on the *last* request only (a client that ends
  the connection with it) ``Connection: close`` or HTTP/1.0.

Each :class:`HttpMessage` also lists its *seams*: the offsets where the
request's own structure meets (a line's CR, the LF after it, a chunk-size
line, the start and end of chunk data), where a reassembly bug likely lives.
Everything shrinks to the plain case: ``GET / HTTP/1.1`` with only ``Host``.
"""

from __future__ import annotations

import functools
import itertools
import urllib.parse
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.strategies._common import SPREAD_POINTS, check_range, check_size, spread
from wirefault.strategies.payloads import payloads

__all__ = ["HttpMessage", "http_messages"]

#: Every method drawn, the plain one first (the shrink target).
METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS")
#: Methods that carry a body here (content in a GET has no defined meaning).
BODY_METHODS = (b"POST", b"PUT")
#: The Host every request carries.
HOST = b"wirefault"

_LETTERS = b"abcdefghijklmnopqrstuvwxyz"
_DIGITS = b"0123456789"
#: tchar (RFC 9110 section 5.6.2), letters first so shrinking stays readable.
_TCHAR = _LETTERS + _LETTERS.upper() + _DIGITS + b"!#$%&'*+-.^_`|~"
#: field-vchar (RFC 9110 section 5.5): VCHAR and obs-text, letters first.
_VCHAR = _LETTERS + bytes(b for b in range(0x21, 0x100) if b not in _LETTERS and b != 0x7F)
#: cookie-octet (RFC 6265 section 4.1.1).
_COOKIE = _LETTERS + bytes(b for b in range(0x21, 0x7F) if b not in _LETTERS and b not in b'",;\\')
#: bcharsnospace (RFC 2046 section 5.1.1); bchars add SP.
_BCHARS = _LETTERS + _DIGITS + b"'()+_,-./:=?"
#: Bytes of multipart part values: anything but CR, so no value holds a delimiter line.
_PART = _LETTERS + bytes(b for b in range(256) if b not in _LETTERS and b != 0x0D)
#: Path segment characters (unreserved, RFC 3986).
_SEGMENT = _LETTERS + _DIGITS + b"-._~"
#: The smallest body cap at which form and multipart bodies (at most 512 bytes) are drawn.
_STRUCTURED_MIN = 512


@dataclass(frozen=True)
class HttpMessage:
    """One valid request.

    Attributes:
        body: the content (de-chunked); empty when the request has none.
        wire: the request's bytes.
        seams: offsets in ``wire`` where its structure meets (line ends, chunk lines).
    """

    body: bytes
    wire: bytes
    seams: tuple[int, ...] = ()


class _Wire:
    """Builds a request's bytes, noting each seam."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.seams: list[int] = []

    def line(self, text: bytes) -> None:
        self.data += text
        self.seams.append(len(self.data))  # at the CR (and, one later, between CR and LF)
        self.data += b"\r\n"
        self.seams.append(len(self.data))

    def raw(self, data: bytes) -> None:
        self.data += data
        self.seams.append(len(self.data))

    def message(self, body: bytes) -> HttpMessage:
        inner = tuple(sorted({s for s in self.seams if 0 < s < len(self.data)}))
        return HttpMessage(body, bytes(self.data), inner)


@functools.lru_cache(maxsize=64)
def _text(alphabet: bytes, min_size: int, max_size: int) -> SearchStrategy[bytes]:
    # Memoised: the composites below ask for the same few texts at every draw, and a
    # strategy made afresh is validated afresh (that was most of a request's cost).
    return payloads(min_size=min_size, max_size=max_size, alphabet=alphabet)


# -- header fields ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _words(max_size: int) -> SearchStrategy[list[bytes]]:
    return st.lists(_text(_VCHAR, 1, max_size), max_size=4)


@st.composite
def _field_value(draw: st.DrawFn, max_size: int) -> bytes:
    # Visible characters with single SP or HTAB between them: never leading or trailing
    # whitespace, which a recipient strips (RFC 9110 section 5.5).
    words = draw(_words(max_size))
    gaps = [draw(_GAPS) for _ in words[1:]]
    value = words[0] if words else b""
    for gap, word in zip(gaps, words[1:], strict=True):
        value += gap + word
    return value


#: Whitespace inside a field value.
_GAPS = st.sampled_from((b" ", b"\t", b"  "))


def _field_name() -> SearchStrategy[bytes]:
    # An X- prefix keeps clear of every field with a meaning (Range, Upgrade, TE...).
    return st.tuples(st.sampled_from((b"X-", b"x-")), _text(_TCHAR, 1, 12)).map(b"".join)


#: Extra fields: mostly short values, sometimes long ones.
_FIELDS = st.lists(
    st.tuples(_field_name(), st.one_of(_field_value(16), _field_value(256))), max_size=4
)


_COOKIE_PAIRS = st.integers(1, 12)


@st.composite
def _cookie(draw: st.DrawFn) -> bytes:
    pairs = []
    for _ in range(draw(_COOKIE_PAIRS)):
        name = draw(_text(_TCHAR, 1, 8))
        value = draw(_text(_COOKIE, 0, 16))
        if draw(st.booleans()):
            value = b'"' + value + b'"'
        pairs.append(name + b"=" + value)
    return b"; ".join(pairs)


# -- bodies -----------------------------------------------------------------------------------


def _urlencoded(fields: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    body = urllib.parse.urlencode(fields).encode("ascii")
    return b"application/x-www-form-urlencoded", body


@st.composite
def _boundary(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A boundary (1 to 70 bchars, not ending in SP) and its Content-Type parameter."""
    inner = draw(_text(_BCHARS + b" ", 0, 40))
    boundary = draw(_text(_BCHARS, 1, 8)) + inner.rstrip(b" ") + draw(_text(_BCHARS, 0, 4))
    token = all(b in _TCHAR for b in boundary)
    if token and not draw(st.booleans()):
        return boundary, boundary
    return boundary, b'"' + boundary + b'"'  # quoted: needed when not a token, legal always


_BOUNDARIES = _boundary()


@st.composite
def _multipart(draw: st.DrawFn) -> tuple[bytes, bytes]:
    boundary, parameter = draw(_BOUNDARIES)
    body = bytearray()
    for index in range(draw(_PARTS)):
        body += b"--" + boundary + b"\r\n"
        body += b'Content-Disposition: form-data; name="f%d"' % index
        if draw(st.booleans()):
            body += b'; filename="f%d.bin"\r\nContent-Type: application/octet-stream' % index
        body += b"\r\n\r\n" + draw(_text(_PART, 0, 48)) + b"\r\n"
    body += b"--" + boundary + b"--\r\n"
    return b"multipart/form-data; boundary=" + parameter, bytes(body)


_PARTS = st.integers(1, 4)
_MULTIPART = _multipart()


def _bodies(min_body: int, max_body: int) -> SearchStrategy[tuple[bytes | None, bytes]]:
    """(Content-Type or None, body): raw bytes first, form and multipart when they fit."""
    raw = payloads(min_size=min_body, max_size=max_body).map(lambda b: (None, b))
    if min_body > 0 or max_body < _STRUCTURED_MIN:
        return raw
    form = st.lists(st.tuples(_text(_TCHAR, 1, 8), st.binary(max_size=24)), min_size=1, max_size=8)
    return st.one_of(raw, form.map(_urlencoded), _MULTIPART)


# -- chunked framing ----------------------------------------------------------------------------


_EXT_KINDS = st.integers(0, 3)
_CUT_POINTS = st.lists(SPREAD_POINTS, max_size=3)
_ZERO_PADS = st.integers(0, 2)


def _chunk_ext(draw: st.DrawFn) -> bytes:
    kind = draw(_EXT_KINDS)
    if kind == 0:
        return b""
    name = draw(_text(_TCHAR, 1, 8))
    if kind == 1:
        return b";" + name
    if kind == 2:
        return b";" + name + b"=" + draw(_text(_TCHAR, 1, 8))
    return b";" + name + b'="' + draw(_text(_COOKIE, 0, 8)) + b'"'


def _chunked(draw: st.DrawFn, wire: _Wire, body: bytes) -> None:
    # Cut points scaled onto the body (1..len - 1): no strategy per body length.
    points = draw(_CUT_POINTS)
    cuts = {1 + spread(p, max(1, len(body) - 1)) for p in points}
    edges = sorted({0, len(body), *(c for c in cuts if 0 < c < len(body))})
    upper = draw(st.booleans())
    for start, end in itertools.pairwise(edges):
        size = b"%x" % (end - start)
        size = b"0" * draw(_ZERO_PADS) + (size.upper() if upper else size)
        wire.raw(size)
        wire.line(_chunk_ext(draw))
        wire.raw(body[start:end])
        wire.line(b"")
    wire.raw(b"0")
    wire.line(_chunk_ext(draw))
    for name, value in draw(_TRAILERS):
        wire.line(name + b": " + value)
    wire.line(b"")


_TRAILERS = st.lists(st.tuples(_field_name(), _field_value(16)), max_size=2)
_COOKIES = _cookie()


# -- whole requests -----------------------------------------------------------------------------


_SEGMENTS = st.lists(_text(_SEGMENT, 1, 8), max_size=3)
_QUERIES = st.lists(st.tuples(_text(_TCHAR, 1, 6), st.binary(max_size=8)), max_size=3)


@st.composite
def _target(draw: st.DrawFn) -> bytes:
    segments = draw(_SEGMENTS)
    path = b"/" + b"/".join(segments)
    if draw(st.booleans()):
        return path
    query = draw(_QUERIES)
    return path + b"?" + urllib.parse.urlencode(query).encode("ascii")


_TARGETS = st.one_of(st.just(b"/"), _target())
_METHODS = st.sampled_from(METHODS)
_BODY_METHODS = st.sampled_from(BODY_METHODS)
_VERSIONS = st.sampled_from((b"1.1", b"1.0"))


@st.composite
def _request(
    draw: st.DrawFn,
    bodies: SearchStrategy[tuple[bytes | None, bytes]],
    with_body: bool,
    last: bool,
) -> HttpMessage:
    method = draw(_BODY_METHODS if with_body else _METHODS)
    target = draw(_TARGETS)
    # Only the last request may end the connection: a client stops sending after it.
    version = draw(_VERSIONS) if last else b"1.1"
    # Drawn whatever the version, so HTTP/1.0 is not "simpler" by a choice less.
    close = last and draw(st.booleans()) and version == b"1.1"
    fields: list[tuple[bytes, bytes]] = [(b"Host", HOST), *draw(_FIELDS)]
    if draw(st.booleans()):
        fields.append((b"Cookie", draw(_COOKIES)))
    content_type, body = (None, b"")
    chunked = False
    if method in BODY_METHODS:
        content_type, body = draw(bodies)
        chunked = version == b"1.1" and draw(st.booleans())
        if content_type is not None:
            fields.append((b"Content-Type", content_type))
        fields.append(
            (b"Transfer-Encoding", b"chunked")
            if chunked
            else (b"Content-Length", b"%d" % len(body))
        )
        if version == b"1.1" and (body or chunked) and draw(st.booleans()):
            fields.append((b"Expect", b"100-continue"))
    if close:
        fields.append((b"Connection", b"close"))
    wire = _Wire()
    wire.line(b"%s %s HTTP/%s" % (method, target, version))
    for name, value in fields:
        wire.line(name + b": " + value)
    wire.line(b"")
    if chunked:
        _chunked(draw, wire, body)
    elif body:
        wire.raw(body)
    return wire.message(body)


@st.composite
def _runs(
    draw: st.DrawFn,
    counts: SearchStrategy[int],
    middle: SearchStrategy[HttpMessage],
    last: SearchStrategy[HttpMessage],
) -> tuple[HttpMessage, ...]:
    count = draw(counts)
    if count == 0:
        return ()
    return (*(draw(middle) for _ in range(count - 1)), draw(last))


def http_messages(
    *, min_frames: int = 1, max_frames: int = 4, min_body: int = 0, max_body: int = 64
) -> SearchStrategy[tuple[HttpMessage, ...]]:
    """Between ``min_frames`` and ``max_frames`` valid requests, to send on one connection.

    Args:
        min_frames: fewest requests.
        max_frames: most requests.
        min_body: when above 0, every request is a POST or PUT with at least this
            many bytes of raw body.
        max_body: most bytes of raw body; form and multipart bodies (up to 512
            bytes) are drawn too when this is at least 512.

    Raises:
        UsageError: negative sizes, or a minimum above its maximum.

    Example::

        @given(http_messages(max_frames=2))
        def test_parser(messages: tuple[HttpMessage, ...]) -> None:
            assert all(m.wire.startswith((b"GET", b"HEAD", b"P", b"DE", b"OP")) for m in messages)
    """
    check_range("http_messages", "min_frames", min_frames, "max_frames", max_frames)
    check_size("http_messages", "max_body", max_body)
    check_range("http_messages", "min_body", min_body, "max_body", max_body)
    bodies = _bodies(min_body, max_body)
    middle = _request(bodies, min_body > 0, last=False)
    last = _request(bodies, min_body > 0, last=True)
    return _runs(st.integers(min_frames, max_frames), middle, last)
