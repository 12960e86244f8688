"""Malformed frames: bytes a server of the codec's protocol must not hang on.

Each codec has its own kinds of malformation, and every codec also gets
random garbage. A :class:`MalformedFrame` says whether it is a finished piece
of input (``complete``) or an unfinished prefix after which the client
half-closes, and whether the codec's own request decoder rejects it
(``must_fail``). Frames with ``must_fail=False`` (garbage, a NUL byte in a
line) may be valid for a lenient server; for them the malformed property only
asks for a reply or a close, never a hang.

==========  ============================================================================
codec       kinds (``*`` = complete=False, ``?`` = must_fail=False)
==========  ============================================================================
lenprefix   truncated-header*, truncated-body*, length-beyond-max
lenfield    truncated-header*, truncated-body*, length-beyond-max*,
            length-inside-header (negative length_adjust), bad-varint* (varint fields)
line        over-long-line, missing-delimiter*, invalid-utf8?, nul-bytes?
http        29 kinds, each with the RFC rule it breaks (``rule``) and whether the RFC
            says a server MUST refuse it (``must_reject``): see
            :mod:`wirefault.strategies.http_malformed`
resp        bad-type-byte, bad-bulk-length, truncated-bulk*
samples     truncated-sample*, corrupted-sample*? (with ``samples=``, any codec)
any         garbage*? (the only kind for raw, datagram and unknown codecs)
==========  ============================================================================

Garbage is sent as unfinished (``complete=False``): random bytes are often the
start of a valid frame, which a correct server waits to complete; after the
half-close it must answer or close.

For ``lenprefix`` a length that disagrees with the body *is* a truncated body:
a shorter body is an unfinished frame, and a longer one is a complete frame
followed by the start of the next, so there is no separate mismatch kind.

``lenfield`` frames start with the head of a sample (the bytes before the length
field: a packet type, a transaction id) when samples are given, else zeros. Its
length beyond ``max_frame`` is sent unfinished, then a half-close: ``max_frame``
is our guess of the server's limit, and a server allowed a larger one rightly
waits for the body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.codecs.lenfield import MAX_VARINT_BYTES, LenFieldCodec
from wirefault.errors import UsageError
from wirefault.strategies._common import FILL_ALPHABET, check_codec, check_samples, repeat_to
from wirefault.strategies.http_malformed import HttpCase, http_cases
from wirefault.strategies.payloads import payloads

__all__ = ["MalformedFrame", "malformed_frames"]

#: Longest body or filler drawn for small malformations.
_SMALL = 64
#: Bytes a line may hold without ending it, letters first so shrinking stays readable.
_LINE_SAFE = FILL_ALPHABET + bytes(b for b in range(256) if b not in b"\n\r" + FILL_ALPHABET)
#: Byte sequences that are never valid UTF-8: lone continuation, overlong, bad lead, surrogate.
_INVALID_UTF8 = (b"\x80", b"\xc0\xaf", b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80")


@dataclass(frozen=True)
class MalformedFrame:
    """One malformed request.

    Attributes:
        kind: what is wrong, e.g. ``truncated-body`` (see the module table).
        data: the bytes to send.
        complete: False when ``data`` is an unfinished prefix: the client
            half-closes after it so the server reads EOF mid-frame.
        must_fail: True when the codec's request decoder rejects ``data``
            (fed whole, then EOF); False when a server may answer it normally.
        rule: the id of the RFC rule it breaks (http only, see
            :mod:`wirefault.strategies.http_rules`), else empty.
        must_reject: whether that rule says a server MUST refuse the request.
    """

    kind: str
    data: bytes
    complete: bool = True
    must_fail: bool = True
    rule: str = ""
    must_reject: bool = False

    def __post_init__(self) -> None:
        if not self.kind:
            raise UsageError("MalformedFrame: kind must name the malformation")


def _frame(
    kind: str, *, complete: bool = True, must_fail: bool = True
) -> Callable[[bytes], MalformedFrame]:
    return lambda data: MalformedFrame(kind, data, complete=complete, must_fail=must_fail)


def _garbage() -> SearchStrategy[MalformedFrame]:
    # Random bytes are often the start of a frame (one byte of a length header, a line
    # without its newline) that a correct server rightly waits to complete: the client
    # half-closes after them, so every server can answer, close, or be caught hanging.
    return st.binary(min_size=1, max_size=_SMALL).map(
        _frame("garbage", complete=False, must_fail=False)
    )


def _letters(min_size: int = 1, max_size: int = 16) -> SearchStrategy[bytes]:
    return payloads(min_size=min_size, max_size=max_size, alphabet=FILL_ALPHABET)


def _option(codec: Codec, name: str, default: int | str) -> int | str:
    value = codec.options().get(name, default)
    return value if isinstance(value, int | str) and not isinstance(value, bool) else default


# -- lenprefix ---------------------------------------------------------------------------------


@st.composite
def _truncated_body(
    draw: st.DrawFn,
    lengths: SearchStrategy[int],
    fills: SearchStrategy[bytes],
    header: Callable[[int], bytes],
) -> MalformedFrame:
    # Module level, strategies passed in: a composite defined (decorated) inside the
    # builder cost a look at its own source every time the builder ran.
    length = draw(lengths)
    body = repeat_to(draw(fills), draw(st.integers(0, length - 1)))
    return MalformedFrame("truncated-body", header(length) + body, complete=False)


def _lenprefix(codec: Codec) -> list[SearchStrategy[MalformedFrame]]:
    width = int(_option(codec, "header_bytes", 4))
    order: Literal["little", "big"] = (
        "little" if _option(codec, "byteorder", "big") == "little" else "big"
    )
    largest = 2 ** (8 * width) - 1
    top = min(codec.max_frame, largest)

    def header(n: int) -> bytes:
        return n.to_bytes(width, order)

    kinds: list[SearchStrategy[MalformedFrame]] = []
    if width > 1:
        partial = st.integers(1, width - 1).map(lambda n: header(top)[:n])
        kinds.append(partial.map(_frame("truncated-header", complete=False)))
    if top >= 1:
        lengths = st.integers(1, max(1, min(top, _SMALL)))
        kinds.append(_truncated_body(lengths, _letters(), header))
    if codec.max_frame < largest:
        lengths = st.one_of(
            st.integers(codec.max_frame + 1, largest),
            st.sampled_from(sorted({codec.max_frame + 1, largest})),
        )
        over = st.tuples(lengths, _letters(0)).map(lambda lb: header(lb[0]) + lb[1])
        kinds.append(over.map(_frame("length-beyond-max")))
    return kinds


# -- lenfield ----------------------------------------------------------------------------------


def _heads(codec: LenFieldCodec, samples: tuple[bytes, ...]) -> SearchStrategy[bytes]:
    """The bytes before the field: each sample's own, else zeros (as ``encode`` writes)."""
    found = sorted({s[: codec.length_offset] for s in samples if len(s) > codec.length_offset})
    return st.sampled_from(found or [bytes(codec.length_offset)])


@st.composite
def _lenfield_truncated(
    draw: st.DrawFn, codec: LenFieldCodec, heads: SearchStrategy[bytes]
) -> bytes:
    least = max(1, codec.length_adjust)
    after = draw(st.integers(least, min(codec.max_frame, max(least, _SMALL))))
    body = repeat_to(draw(_letters()), draw(st.integers(0, after - 1)))
    return draw(heads) + codec.field(after) + body


def _field_top(codec: LenFieldCodec) -> int:
    """The most bytes after the field that the field can declare."""
    bits = 7 * MAX_VARINT_BYTES if codec.varint else 8 * int(codec.length_bytes)
    return (1 << bits) - 1 + codec.length_adjust


def _lenfield(codec: Codec, samples: tuple[bytes, ...]) -> list[SearchStrategy[MalformedFrame]]:
    if not isinstance(codec, LenFieldCodec):
        return []
    heads = _heads(codec, samples)

    def framed(parts: tuple[bytes, int, bytes]) -> bytes:
        head, after, rest = parts
        return head + codec.field(after) + rest

    kinds: list[SearchStrategy[MalformedFrame]] = []
    # A header cut inside the field (or before it), at the largest valid length.
    whole = codec.length_offset + len(codec.field(codec.max_frame))
    if whole > 1:
        header = st.tuples(heads, st.just(codec.max_frame), st.just(b"")).map(framed)
        cut = st.tuples(header, st.integers(1, whole - 1)).map(lambda hc: hc[0][: hc[1]])
        kinds.append(cut.map(_frame("truncated-header", complete=False)))
    truncated = _lenfield_truncated(codec, heads)
    kinds.append(truncated.map(_frame("truncated-body", complete=False)))
    top = _field_top(codec)
    if codec.max_frame < top:
        over = st.one_of(st.integers(codec.max_frame + 1, top), st.just(codec.max_frame + 1))
        beyond = st.tuples(heads, over, _letters(0)).map(framed)
        kinds.append(beyond.map(_frame("length-beyond-max", complete=False)))
    if codec.length_adjust < 0:
        # PostgreSQL's length counts itself: a value below 4 ends inside the header.
        below = st.integers(0, -codec.length_adjust - 1).map(lambda v: v + codec.length_adjust)
        inside = st.tuples(heads, below, _letters(0, 8)).map(framed)
        kinds.append(inside.map(_frame("length-inside-header")))
    if codec.varint:
        groups = len(codec.field(codec.max_frame))
        runs = st.integers(groups + 1, MAX_VARINT_BYTES + 1).map(lambda n: b"\xff" * n)
        bad = st.tuples(heads, runs).map(lambda hr: hr[0] + hr[1])
        kinds.append(bad.map(_frame("bad-varint", complete=False)))
    return kinds


# -- line --------------------------------------------------------------------------------------


def _line(codec: Codec) -> list[SearchStrategy[MalformedFrame]]:
    max_line = int(_option(codec, "max_line", codec.max_frame))
    safe = payloads(min_size=1, max_size=8, alphabet=_LINE_SAFE)
    # max_line + 1 bytes could still be a full line plus the "\r" of its "\r\n":
    # only from max_line + 2 is the line over-long for every server.
    over = st.tuples(safe, st.integers(max_line + 2, max_line + _SMALL)).map(
        lambda fs: repeat_to(fs[0], fs[1])
    )
    unterminated = payloads(min_size=1, max_size=max(1, min(max_line, _SMALL)), alphabet=_LINE_SAFE)
    text = _letters(0, 8)
    invalid = st.tuples(text, st.sampled_from(_INVALID_UTF8), text).map(
        lambda parts: b"".join(parts) + b"\n"
    )
    nul = st.tuples(text, st.integers(1, 4), text).map(
        lambda parts: parts[0] + b"\x00" * parts[1] + parts[2] + b"\n"
    )
    return [
        over.map(_frame("over-long-line")),
        unterminated.map(_frame("missing-delimiter", complete=False)),
        invalid.map(_frame("invalid-utf8", must_fail=False)),
        nul.map(_frame("nul-bytes", must_fail=False)),
    ]


# -- http --------------------------------------------------------------------------------------


def _from_case(case: HttpCase) -> MalformedFrame:
    return MalformedFrame(
        case.kind,
        case.bad,
        complete=case.complete,
        must_fail=case.must_fail,
        rule=case.rule.id,
        must_reject=case.rule.must_reject,
    )


def _http(codec: Codec) -> list[SearchStrategy[MalformedFrame]]:
    return [kind.map(_from_case) for kind in http_cases()]


# -- resp --------------------------------------------------------------------------------------

#: Bytes that start no RESP2 value (``+ - : $ *`` do), printable ones first.
_NOT_RESP_TYPE = b"!#%&?@^~\x00\xff"


def _resp(codec: Codec) -> list[SearchStrategy[MalformedFrame]]:
    # Each malformation sits inside a one-element array, so a request decoder that
    # also takes inline commands (``PING\r\n``) cannot read it as one.
    def bad_type(parts: tuple[int, bytes]) -> bytes:
        return b"*1\r\n" + bytes([parts[0]]) + parts[1] + b"\r\n"

    def bad_length(text: bytes) -> bytes:
        return b"*1\r\n$" + text + b"\r\nwirefault\r\n"

    def truncated(parts: tuple[bytes, int]) -> bytes:
        data, missing = parts
        return b"*1\r\n$%d\r\n" % (len(data) + missing) + data

    negative = st.integers(2, 1000).map(lambda n: b"-%d" % n)
    lengths = st.one_of(negative, _letters(1, 8))
    return [
        st.tuples(st.sampled_from(_NOT_RESP_TYPE), _letters(0, 8))
        .map(bad_type)
        .map(_frame("bad-type-byte")),
        lengths.map(bad_length).map(_frame("bad-bulk-length")),
        st.tuples(_letters(0), st.integers(1, 16))
        .map(truncated)
        .map(_frame("truncated-bulk", complete=False)),
    ]


#: Codec-specific malformations by codec name; every codec also gets garbage.
_KINDS: dict[str, Callable[[Codec], list[SearchStrategy[MalformedFrame]]]] = {
    "lenprefix": _lenprefix,
    "line": _line,
    "http": _http,
    "resp": _resp,
}


#: Codec-specific malformations whose headers come from the samples, when given.
_SAMPLED_KINDS: dict[
    str, Callable[[Codec, tuple[bytes, ...]], list[SearchStrategy[MalformedFrame]]]
] = {"lenfield": _lenfield}


def malformed_frames(
    codec: Codec, *, samples: Sequence[bytes] = ()
) -> SearchStrategy[MalformedFrame]:
    """Malformed requests for ``codec``: its own kinds (module table), then garbage.

    Kinds are drawn in table order, so shrinking prefers the first kind and
    its smallest instance; raw, datagram and unknown codecs get garbage only.
    With ``samples`` (whole requests of the codec), truncated and corrupted
    samples come after the codec's kinds, and lenfield headers start like them.

    Raises:
        UsageError: ``codec`` is not a Codec, or a sample is not non-empty bytes.

    Example::

        @given(malformed_frames(get_codec("lenprefix")))
        def test_rejected(bad: MalformedFrame) -> None:
            assert bad.data
    """
    check_codec("malformed_frames", codec)
    # Imported here: the samples module builds on MalformedFrame from this one.
    from wirefault.strategies.samples import sample_malformations

    checked = check_samples("malformed_frames", samples)
    build = _KINDS.get(codec.name)
    kinds = build(codec) if build is not None else []
    sampled = _SAMPLED_KINDS.get(codec.name)
    if sampled is not None:
        kinds += sampled(codec, checked)
    return st.one_of(*kinds, *sample_malformations(codec, checked), _garbage())
