"""The http codec: canonical forms, framing styles, keep-alive, errors, normalise."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import Decoder, HttpCodec
from wirefault.codecs.http import MAX_HEAD
from wirefault.errors import FrameError


def feed_in_pieces(decoder: Decoder, data: bytes, points: list[int]) -> list[bytes]:
    """Feed ``data`` cut at ``points`` (any order), then EOF; return every frame."""
    edges = [0, *sorted(set(points)), len(data)]
    frames: list[bytes] = []
    for a, b in itertools.pairwise(edges):
        if b > a:
            frames += decoder.feed(data[a:b])
    return frames + decoder.feed(b"")


CHUNKED_OK = (
    b"HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-A: 1\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
)
LENGTH_OK = (
    b"HTTP/1.1 200 OK\r\nDate: Tue, 02 Jan 2024 11:11:11 GMT\r\nX-A: 1\r\n"
    b"Content-Length: 5\r\n\r\nhello"
)


def test_encode_is_a_post_with_host_and_content_length() -> None:
    assert HttpCodec().encode(b"hi") == (
        b"POST /wirefault HTTP/1.1\r\nHost: wirefault\r\nContent-Length: 2\r\n\r\nhi"
    )
    assert b"Content-Length: 0\r\n\r\n" in HttpCodec().encode(b"")


def test_probe_is_a_get_with_host() -> None:
    assert HttpCodec().probe() == b"GET / HTTP/1.1\r\nHost: wirefault\r\n\r\n"


def test_canonical_form_lowercases_names_and_ends_with_content_length() -> None:
    frames = HttpCodec().response_decoder().feed(LENGTH_OK)
    assert frames == [
        b"HTTP/1.1 200 OK\r\ndate: Tue, 02 Jan 2024 11:11:11 GMT\r\nx-a: 1\r\n"
        b"content-length: 5\r\n\r\nhello"
    ]


def test_chunked_and_content_length_responses_normalise_equal_despite_dates() -> None:
    codec = HttpCodec()
    chunked = codec.response_decoder().feed(CHUNKED_OK)
    length = codec.response_decoder().feed(LENGTH_OK)
    assert chunked != length  # the Date headers differ
    assert [codec.normalise(f) for f in chunked] == [codec.normalise(f) for f in length]
    assert (
        codec.normalise(length[0]) == b"HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\n\r\nhello"
    )


def test_volatile_headers_are_configurable() -> None:
    codec = HttpCodec(volatile_headers="X-A, date")
    frame = codec.response_decoder().feed(LENGTH_OK)[0]
    assert codec.normalise(frame) == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"


def test_trailers_follow_the_headers() -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: t\r\n\r\n"
    frame = HttpCodec().response_decoder().feed(wire)[0]
    assert frame == b"HTTP/1.1 200 OK\r\nx-t: t\r\ncontent-length: 1\r\n\r\nx"


def test_keep_alive_responses_back_to_back_are_separate_frames() -> None:
    decoder = HttpCodec().response_decoder()
    frames = decoder.feed(LENGTH_OK + CHUNKED_OK + LENGTH_OK)
    assert len(frames) == 3
    assert decoder.feed(b"") == []


def test_interim_responses_are_skipped() -> None:
    wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    assert HttpCodec().response_decoder().feed(wire) == [
        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
    ]


def test_a_close_delimited_body_ends_at_eof() -> None:
    decoder = HttpCodec().response_decoder()
    assert decoder.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody") == []
    assert decoder.pending > 0
    assert decoder.feed(b" more") == []
    assert decoder.feed(b"") == [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 9\r\n\r\nbody more"
    ]


def test_bytes_after_a_closing_response_are_a_frame_error() -> None:
    decoder = HttpCodec().response_decoder()
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"
    assert len(decoder.feed(closing)) == 1
    with pytest.raises(FrameError, match="after a response that closes the connection"):
        decoder.feed(LENGTH_OK)


HTTP10_KEEP_ALIVE = (
    b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nok\n"
    b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno\n"
)


def test_an_http10_keep_alive_response_with_a_length_keeps_the_connection() -> None:
    # RFC 9112 section 9.3: waitress answers HTTP/1.0 keep-alive requests so; h11 alone
    # would close after the first response.
    decoder = HttpCodec().response_decoder()
    frames = [
        f for i in range(len(HTTP10_KEEP_ALIVE)) for f in decoder.feed(HTTP10_KEEP_ALIVE[i : i + 1])
    ]
    assert [f.split(b"\r\n", 1)[0] for f in frames] == [
        b"HTTP/1.0 200 OK",
        b"HTTP/1.0 400 Bad Request",
    ]
    assert decoder.pending == 0
    with pytest.raises(FrameError, match="after a response that closes"):
        decoder.feed(b"HTTP/1.0 200 OK\r\n")  # the second said close


def test_an_http10_response_without_keep_alive_still_closes() -> None:
    plain = HTTP10_KEEP_ALIVE.replace(b"Connection: Keep-Alive\r\n", b"")
    with pytest.raises(FrameError, match="after a response that closes"):
        HttpCodec().response_decoder().feed(plain)


def test_a_clean_close_between_responses_is_not_an_error() -> None:
    decoder = HttpCodec().response_decoder()
    decoder.feed(LENGTH_OK)
    assert decoder.feed(b"") == []


def test_requests_after_a_connection_close_request_are_ignored() -> None:
    decoder = HttpCodec().request_decoder()
    closing = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    assert len(decoder.feed(closing + HttpCodec().encode(b"x"))) == 1
    assert decoder.feed(HttpCodec().probe()) == []
    assert decoder.pending == 0


def test_pipelined_requests_are_all_read() -> None:
    codec = HttpCodec()
    frames = codec.request_decoder().feed(codec.probe() + codec.encode(b"a") + codec.probe())
    assert [f.split(b"\r\n", 1)[0] for f in frames] == [
        b"GET / HTTP/1.1",
        b"POST /wirefault HTTP/1.1",
        b"GET / HTTP/1.1",
    ]


@pytest.mark.parametrize(
    ("request_bytes", "message"),
    [
        (b"GARBAGE\r\n\r\n", "illegal request line"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "illegal header line"),
        (b"GET / HTTP/1.1\r\n\r\n", "Host"),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "conflicting Content-Length",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            "both Content-Length and Transfer-Encoding",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "illegal chunk header",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * MAX_HEAD + b"\r\n\r\n",
            "longer than 16384 bytes",
        ),
    ],
)
def test_malformed_requests_are_frame_errors(request_bytes: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        HttpCodec().request_decoder().feed(request_bytes)


@pytest.mark.parametrize(("size", "fails"), [(MAX_HEAD - 1, False), (MAX_HEAD + 1, True)])
@pytest.mark.parametrize("piece", [1, 1000, 2 * MAX_HEAD])
def test_the_head_limit_does_not_depend_on_the_split(size: int, fails: bool, piece: int) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: \r\n\r\n"
    head = head.replace(b"X: ", b"X: " + b"v" * (size - len(head)))
    assert len(head) == size
    points = list(range(piece, size, piece))
    if fails:
        with pytest.raises(FrameError, match="longer than 16384 bytes"):
            feed_in_pieces(HttpCodec().response_decoder(), head, points)
    else:
        assert len(feed_in_pieces(HttpCodec().response_decoder(), head, points)) == 1


def test_a_truncated_body_at_eof_is_a_frame_error() -> None:
    decoder = HttpCodec().request_decoder()
    decoder.feed(HttpCodec().encode(b"hello")[:-2])
    with pytest.raises(FrameError, match="stream ended inside a request"):
        decoder.feed(b"")


def test_a_content_length_beyond_max_frame_fails_before_the_body() -> None:
    with pytest.raises(FrameError, match="Content-Length 11 exceeds max_frame=10"):
        HttpCodec(max_frame=10).response_decoder().feed(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
        )


def test_a_chunked_body_beyond_max_frame_fails() -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n" + b"x" * 11
    with pytest.raises(FrameError, match="body exceeds max_frame=10"):
        HttpCodec(max_frame=10).response_decoder().feed(wire)


@dataclass(frozen=True)
class Reply:
    """One generated response: its wire bytes and expected canonical frame."""

    wire: bytes
    frame: bytes


_tokens = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8).map(str.encode)
_values = st.text("abcdefghijklmnopqrstuvwxyz0123456789 ,;=", max_size=12).map(
    lambda s: s.strip().encode()
)


@st.composite
def replies(draw: st.DrawFn, *, close: bool = False) -> Reply:
    """A response framed by Content-Length, chunks, or (``close``) the end of stream."""
    status = draw(st.sampled_from([200, 201, 404, 500]))
    start = b"HTTP/1.1 %d Reason" % status
    names = draw(st.lists(_tokens.map(lambda t: b"x-" + t), max_size=3))
    headers = [(n, draw(_values)) for n in names]
    body = draw(st.binary(max_size=60))
    lines = [start] + [n.title() + b": " + v for n, v in headers]
    if close:
        lines.append(b"Connection: close")
        headers.append((b"connection", b"close"))
        wire_body = body
    elif body and draw(st.booleans()):
        lines.append(b"Transfer-Encoding: chunked")
        cuts = sorted(set(draw(st.lists(st.integers(1, len(body)), max_size=4))))
        edges = [0, *cuts, len(body)]
        parts = [body[a:b] for a, b in itertools.pairwise(edges) if b > a]
        wire_body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    else:
        lines.append(b"Content-Length: %d" % len(body))
        wire_body = body
    wire = b"\r\n".join(lines) + b"\r\n\r\n" + wire_body
    head = [start] + [n + b": " + v for n, v in headers] + [b"content-length: %d" % len(body)]
    return Reply(wire, b"\r\n".join(head) + b"\r\n\r\n" + body)


@settings(max_examples=60, deadline=None)
@given(
    stream=st.tuples(st.lists(replies(), max_size=4), st.lists(replies(close=True), max_size=1)),
    data=st.data(),
)
def test_any_response_stream_splits_into_its_canonical_responses(
    stream: tuple[list[Reply], list[Reply]], data: st.DataObject
) -> None:
    sequence = stream[0] + stream[1]
    wire = b"".join(r.wire for r in sequence)
    points = data.draw(st.lists(st.integers(0, len(wire)), max_size=12))
    frames = feed_in_pieces(HttpCodec().response_decoder(), wire, points)
    assert frames == [r.frame for r in sequence]


def test_responses_fed_one_byte_at_a_time_give_the_same_frames() -> None:
    wire = LENGTH_OK + CHUNKED_OK + b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nend"
    whole = HttpCodec().response_decoder()
    trickle = HttpCodec().response_decoder()
    frames = [f for i in range(len(wire)) for f in trickle.feed(wire[i : i + 1])]
    assert frames + trickle.feed(b"") == whole.feed(wire) + whole.feed(b"")
    assert len(frames) == 2  # the close-delimited third ends at EOF
