"""The resp codec: every RESP2 type, nesting, inline commands, errors."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import Decoder, RespCodec
from wirefault.codecs.resp import MAX_LINE
from wirefault.errors import FrameError


def feed_in_pieces(decoder: Decoder, data: bytes, points: list[int]) -> list[bytes]:
    """Feed ``data`` cut at ``points`` (any order), then EOF; return every frame."""
    edges = [0, *sorted(set(points)), len(data)]
    frames: list[bytes] = []
    for a, b in itertools.pairwise(edges):
        if b > a:
            frames += decoder.feed(data[a:b])
    return frames + decoder.feed(b"")


_line_text = st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))

# Wire bytes of one RESP2 value, built directly in the shape wanted.
_scalars = st.one_of(
    _line_text.map(lambda t: b"+" + t + b"\r\n"),
    _line_text.map(lambda t: b"-" + t + b"\r\n"),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: b":%d\r\n" % n),
    st.binary(max_size=20).map(lambda b: b"$%d\r\n%s\r\n" % (len(b), b)),
    st.just(b"$-1\r\n"),
    st.just(b"*-1\r\n"),
)
resp_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4).map(
        lambda items: b"*%d\r\n" % len(items) + b"".join(items)
    ),
    max_leaves=12,
)


def test_encode_splits_the_payload_on_every_space() -> None:
    assert RespCodec().encode(b"SET k  v") == (
        b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$1\r\nv\r\n"
    )


def test_an_empty_payload_and_the_probe_are_ping() -> None:
    assert RespCodec().encode(b"") == RespCodec().probe() == b"*1\r\n$4\r\nPING\r\n"


def test_every_reply_type_is_one_frame() -> None:
    replies = [b"+OK\r\n", b"-ERR no\r\n", b":-7\r\n", b"$3\r\na\r\n\r\n", b"$-1\r\n", b"*-1\r\n"]
    replies += [b"*0\r\n", b"*2\r\n*1\r\n:1\r\n$0\r\n\r\n", b"$0\r\n\r\n"]
    assert RespCodec().response_decoder().feed(b"".join(replies)) == replies


def test_inline_commands_are_requests_and_blank_lines_are_ignored() -> None:
    decoder = RespCodec().request_decoder()
    stream = b"PING\r\n\r\n \n*0\r\n*-1\r\nGET k\n"
    assert decoder.feed(stream) == [b"PING\r\n", b"GET k\n"]
    assert decoder.pending == 0


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"!oops\r\n", "type byte b'!' where RESP2 expects one of"),
        (b"%1\r\n", "type byte b'%'"),  # a RESP3 map
        (b"$-2\r\n", "bulk length -2 is invalid"),
        (b"$1x\r\n", "bulk length b'1x' is not a decimal integer"),
        (b"*+1\r\n", "array length b'\\+1' is not a decimal integer"),
        (b":1.5\r\n", "integer b'1.5' is not a decimal integer"),
        (b"*-3\r\n", "array length -3 is invalid"),
        (b"$3\r\nabcd\r\n", "followed by b'd\\\\r', not"),
        (b"+OK\n", "ends in \\\\n without \\\\r"),
    ],
)
def test_malformed_replies_are_frame_errors(reply: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        RespCodec().response_decoder().feed(reply)


def test_a_bad_type_byte_fails_without_waiting_for_the_line_end() -> None:
    decoder = RespCodec().response_decoder()
    assert decoder.feed(b"+OK\r\n") == [b"+OK\r\n"]
    with pytest.raises(FrameError) as info:
        decoder.feed(b"?")
    assert info.value.offset == 5


def test_a_command_array_must_hold_bulk_strings() -> None:
    with pytest.raises(FrameError, match=r"expects \$ \(a command is an array of bulk strings\)"):
        RespCodec().request_decoder().feed(b"*1\r\n:1\r\n")


def test_a_bulk_string_beyond_max_frame_fails_at_its_header() -> None:
    with pytest.raises(FrameError, match="bulk string of 11 bytes exceeds max_frame=10"):
        RespCodec(max_frame=10).response_decoder().feed(b"$11\r\n")


def test_an_array_beyond_max_frame_fails_at_its_header() -> None:
    with pytest.raises(FrameError, match="array of 11 elements exceeds max_frame=10"):
        RespCodec(max_frame=10).request_decoder().feed(b"*11\r\n")


def test_an_endless_line_fails_once_it_passes_the_limit() -> None:
    decoder = RespCodec().request_decoder()
    decoder.feed(b"x" * MAX_LINE)
    with pytest.raises(FrameError, match="line longer than"):
        decoder.feed(b"xx")


def test_eof_inside_a_value_is_a_frame_error() -> None:
    decoder = RespCodec().response_decoder()
    decoder.feed(b"*2\r\n:1\r\n")
    with pytest.raises(FrameError, match="stream ended inside a value"):
        decoder.feed(b"")


def test_a_truncated_bulk_string_waits_then_fails_at_eof() -> None:
    decoder = RespCodec().response_decoder()
    assert decoder.feed(b"$5\r\nab") == []
    assert decoder.pending == 6
    with pytest.raises(FrameError):
        decoder.feed(b"")


@settings(max_examples=100, deadline=None)
@given(values=st.lists(resp_values, min_size=1, max_size=5), data=st.data())
def test_any_reply_stream_splits_back_into_its_values(
    values: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(values)
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    frames = feed_in_pieces(RespCodec().response_decoder(), stream, points)
    assert frames == values


@settings(max_examples=30, deadline=None)
@given(values=st.lists(resp_values, min_size=1, max_size=3))
def test_replies_fed_one_byte_at_a_time_split_into_their_values(values: list[bytes]) -> None:
    stream = b"".join(values)
    decoder = RespCodec().response_decoder()
    frames = [f for i in range(len(stream)) for f in decoder.feed(stream[i : i + 1])]
    assert frames == values
