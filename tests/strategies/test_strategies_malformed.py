"""Malformed frames: the right kinds per codec, rejected by the codec where they must be."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies_support import DATAGRAM, FAST, STREAM_CODECS, drawn, minimal, simplest

from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.errors import FrameError, UsageError
from wirefault.strategies import MalformedFrame, malformed_frames

KINDS = {
    "lenprefix": {"truncated-header", "truncated-body", "length-beyond-max", "garbage"},
    "lenprefix-1": {"truncated-body", "length-beyond-max", "garbage"},
    "lenprefix-2le": {"truncated-header", "truncated-body", "garbage"},
    "line": {"over-long-line", "missing-delimiter", "invalid-utf8", "nul-bytes", "garbage"},
    "line-16": {"over-long-line", "missing-delimiter", "invalid-utf8", "nul-bytes", "garbage"},
    "http": {
        "conflicting-content-length",
        "content-length-and-chunked",
        "bad-chunk-size",
        "chunk-size-whitespace",
        "garbage-request-line",
        "header-without-colon",
        "truncated-body",
        "over-long-header-line",
        "content-length-sign",
        "content-length-list",
        "content-length-junk",
        "chunked-not-last",
        "chunk-size-overflow",
        "http10-chunked",
        "whitespace-before-colon",
        "missing-host",
        "duplicate-host",
        "invalid-host",
        "obs-fold",
        "bare-cr",
        "nul-in-field",
        "whitespace-before-first-field",
        "bad-chunk-terminator",
        "chunk-line-bare-lf",
        "invalid-method",
        "invalid-version",
        "control-in-field",
        "over-long-request-line",
        "backtracking-field-value",
        "garbage",
    },
    "resp": {"bad-type-byte", "bad-bulk-length", "truncated-bulk", "garbage"},
    "raw": {"garbage"},
    # Modbus/TCP: a 2-byte field cannot declare more than max_frame (capped at 65535).
    "lenfield-modbus": {"truncated-header", "truncated-body", "garbage"},
    "lenfield-mqtt": {
        "truncated-header",
        "truncated-body",
        "length-beyond-max",
        "bad-varint",
        "garbage",
    },
    "lenfield-postgresql": {
        "truncated-header",
        "truncated-body",
        "length-beyond-max",
        "length-inside-header",
        "garbage",
    },
    "lenfield-memcached": {"truncated-header", "truncated-body", "length-beyond-max", "garbage"},
}
CODECS: dict[str, Codec] = {
    **STREAM_CODECS,
    "datagram": DATAGRAM,
    "lenfield-modbus": get_codec("lenfield", length_offset=4, length_bytes=2),
    "lenfield-mqtt": get_codec("lenfield", length_offset=1, length_bytes="varint"),
    "lenfield-postgresql": get_codec("lenfield", length_offset=1, length_bytes=4, length_adjust=-4),
    "lenfield-memcached": get_codec("lenfield", length_offset=8, length_bytes=4, length_adjust=12),
}
#: Unfinished (sent before a half-close) although the codec rejects them at once: a
#: server allowed more than our max_frame would rightly wait for the rest.
REJECTED_AT_ONCE = {"length-beyond-max", "bad-varint"}


def _rejects(codec: Codec, data: bytes) -> bool:
    """Whether the codec's request decoder refuses ``data`` followed by EOF."""
    decoder = codec.request_decoder()
    try:
        decoder.feed(data)
        decoder.feed(b"")
    except FrameError:
        return True
    return False


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_of_the_codec_is_drawn(name: str) -> None:
    codec = CODECS[name]
    kinds = malformed_frames(codec).map(lambda m: m.kind)  # no kilobyte reprs
    for kind in sorted(KINDS[name]):
        assert drawn(kinds, kind.__eq__) == kind


@pytest.mark.parametrize("name", sorted(KINDS))
def test_only_the_codec_kinds_are_drawn(name: str) -> None:
    codec = CODECS[name]

    @FAST
    @given(malformed_frames(codec))
    def check(bad: MalformedFrame) -> None:
        assert bad.kind in KINDS[name]
        assert bad.data

    check()


@pytest.mark.parametrize("name", sorted(KINDS))
def test_must_fail_frames_are_rejected_by_the_codec(name: str) -> None:
    codec = CODECS[name]

    @FAST
    @given(malformed_frames(codec))
    def check(bad: MalformedFrame) -> None:
        if bad.must_fail:
            assert _rejects(codec, bad.data), f"{bad.kind}: {bad.data[:80]!r} was accepted"

    check()


@pytest.mark.parametrize("name", sorted(KINDS))
def test_unfinished_frames_wait_for_more_until_eof(name: str) -> None:
    codec = CODECS[name]

    @FAST
    @given(malformed_frames(codec))
    def check(bad: MalformedFrame) -> None:
        if bad.kind in REJECTED_AT_ONCE and name.startswith("lenfield"):
            assert not bad.complete and _rejects(codec, bad.data)
        elif not bad.complete and bad.must_fail:  # garbage may be anything
            decoder = codec.request_decoder()
            assert decoder.feed(bad.data) == []  # a prefix: no error, no frame yet
            assert decoder.pending > 0
            with pytest.raises(FrameError):
                decoder.feed(b"")

    check()


def test_datagram_codecs_get_garbage_only() -> None:
    found = drawn(malformed_frames(DATAGRAM), lambda m: True)
    assert found.kind == "garbage"
    assert not found.must_fail


@pytest.mark.parametrize("name", ["lenprefix", "resp"])
def test_malformed_frames_shrink_to_a_few_bytes(name: str) -> None:
    # Shrinking prefers the fewest choices: a truncated header, a short bad RESP
    # length, or a byte of garbage; never kilobytes.
    assert minimal(malformed_frames(CODECS[name]).map(lambda m: len(m.data))) <= 32


def test_lenprefix_starts_from_one_byte_of_header() -> None:
    expected = MalformedFrame("truncated-header", b"\x00", complete=False)
    assert simplest(malformed_frames(CODECS["lenprefix"])) == expected


@FAST
@given(malformed_frames(CODECS["http"]))
def test_conflicting_content_lengths_really_differ(bad: MalformedFrame) -> None:
    if bad.kind == "conflicting-content-length":
        head, _, body = bad.data.partition(b"\r\n\r\n")
        lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n")[2:]]
        assert len(lengths) == 2
        assert lengths[0] < lengths[1] == len(body)


@FAST
@given(malformed_frames(CODECS["line-16"]))
def test_over_long_lines_pass_the_limit_without_ending(bad: MalformedFrame) -> None:
    if bad.kind == "over-long-line":
        assert 18 <= len(bad.data) <= 16 + 64  # 17 could be 16 bytes and the \r of \r\n
        assert b"\n" not in bad.data
        assert b"\r" not in bad.data


def test_a_non_codec_is_refused() -> None:
    with pytest.raises(UsageError, match="expected a Codec"):
        malformed_frames(b"line")  # type: ignore[arg-type]


def test_a_malformed_frame_names_its_kind() -> None:
    with pytest.raises(UsageError, match="kind must name the malformation"):
        MalformedFrame("", b"x")
