"""The line codec: terminators, limits, truncation."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import Decoder, LineCodec, get_codec
from wirefault.errors import FrameError


def feed_in_pieces(decoder: Decoder, data: bytes, points: list[int]) -> list[bytes]:
    """Feed ``data`` cut at ``points`` (any order), then EOF; return every frame."""
    edges = [0, *sorted(set(points)), len(data)]
    frames: list[bytes] = []
    for a, b in itertools.pairwise(edges):
        if b > a:
            frames += decoder.feed(data[a:b])
    return frames + decoder.feed(b"")


def test_crlf_and_lf_lines_give_the_same_frame() -> None:
    assert LineCodec().request_decoder().feed(b"a\r\nb\n") == [b"a", b"b"]


def test_a_carriage_return_inside_a_line_is_kept() -> None:
    assert LineCodec().request_decoder().feed(b"a\rb\r\r\n") == [b"a\rb\r"]


def test_empty_lines_are_frames() -> None:
    assert LineCodec().request_decoder().feed(b"\n\r\n") == [b"", b""]


def test_encode_maps_terminators_to_spaces() -> None:
    assert LineCodec().encode(b"a\nb\r") == b"a b \n"


def test_probe_is_a_fixed_line() -> None:
    assert get_codec("line").probe() == b"wirefault-probe\n"


def test_a_line_of_exactly_max_line_is_accepted_with_either_terminator() -> None:
    decoder = LineCodec(max_line=4).request_decoder()
    assert decoder.feed(b"abcd\r") == []
    assert decoder.feed(b"\nabcd\n") == [b"abcd", b"abcd"]


def test_an_over_long_line_fails_before_its_newline_arrives() -> None:
    decoder = LineCodec(max_line=4).request_decoder()
    decoder.feed(b"ok\nabcd")
    with pytest.raises(FrameError, match="5 bytes without a newline exceeds max_line=4") as info:
        decoder.feed(b"e")
    assert info.value.offset == 3


def test_an_over_long_complete_line_fails() -> None:
    with pytest.raises(FrameError, match="a line of 5 bytes exceeds max_line=4"):
        LineCodec(max_line=4).request_decoder().feed(b"abcde\n")


def test_max_line_plus_a_carriage_return_still_waits_for_the_newline() -> None:
    decoder = LineCodec(max_line=4).request_decoder()
    assert decoder.feed(b"abcd\r") == []
    with pytest.raises(FrameError, match="max_line=4"):
        decoder.feed(b"x")


def test_eof_inside_a_line_is_a_frame_error() -> None:
    decoder = LineCodec().request_decoder()
    assert decoder.feed(b"done\npart") == [b"done"]
    with pytest.raises(FrameError, match="stream ended inside a line: 4 bytes") as info:
        decoder.feed(b"")
    assert info.value.offset == 5


def test_eof_between_lines_is_clean() -> None:
    decoder = LineCodec().request_decoder()
    decoder.feed(b"a\n")
    assert decoder.feed(b"") == []


@settings(max_examples=50, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=6),
    crlf=st.booleans(),
    data=st.data(),
)
def test_lines_come_back_whatever_the_split(
    lines: list[bytes], crlf: bool, data: st.DataObject
) -> None:
    # With a bare \n terminator, a line's own trailing \r reads as half of a \r\n.
    end = b"\r\n" if crlf else b"\n"
    stream = b"".join(line + end for line in lines)
    expected = [line[:-1] if not crlf and line.endswith(b"\r") else line for line in lines]
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    frames = feed_in_pieces(LineCodec(max_line=64).request_decoder(), stream, points)
    assert frames == expected
