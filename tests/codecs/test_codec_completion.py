"""Codec.completion: the bytes that finish an unfinished request, as a lenient server reads it."""

from __future__ import annotations

import pytest

from wirefault.codecs import get_codec

LIMIT = 4 << 20


@pytest.mark.parametrize(
    ("codec", "prefix", "rest"),
    [
        ("line", b"abc", b"\n"),
        ("line", b"a" * 9000, b"\n"),  # longer than max_line: a lenient server still waits
        ("line", b"one\ntwo", b"\n"),
        ("line", b"one\n", b""),
        ("lenprefix", b"\x00\x00\x00\x05ab", b"www"),
        ("lenprefix", b"\x00\x00\x00\x02hi", b""),
        ("lenprefix", b"\x00\x00", b"\x00\x00"),  # a zero-filled header declares 0 bytes
        ("resp", b"*1\r\n$4\r\nPI", b"ww\r\n"),
        ("resp", b"*2\r\n$4\r\nPING\r\n", b"$0\r\n\r\n"),
        ("resp", b"*1\r\n$3\r\nabc\r", b"\n"),
        ("resp", b"PIN", b"\r\n"),
        ("resp", b"*1\r\n$4\r\nPING\r\n", b""),
        ("http", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", b"www"),
        ("http", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n", b"\r\nww"),
        ("http", b"GET / HTTP/1.1\r\nHost: a\r", b"\n\r\n"),
        ("http", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b""),
    ],
)
def test_the_rest_finishes_exactly_one_more_request(codec: str, prefix: bytes, rest: bytes) -> None:
    chosen = get_codec(codec)
    assert chosen.completion(prefix, limit=LIMIT) == rest
    if codec != "line" or len(prefix) <= 8192:
        decoder = chosen.request_decoder()
        frames = decoder.feed(prefix + rest)
        assert frames and decoder.pending == 0


def test_a_length_beyond_the_codecs_maximum_is_finished_up_to_the_limit() -> None:
    codec = get_codec("lenprefix")
    header = (codec.max_frame + 1).to_bytes(4, "big")
    assert codec.completion(header, limit=LIMIT) == b"w" * (codec.max_frame + 1)
    assert codec.completion(b"\xff\xff\xff\xff", limit=LIMIT) is None  # 4 GiB: half-close


@pytest.mark.parametrize(
    ("codec", "prefix"),
    [
        ("resp", b"*1\r\n\x00ak\r\n"),  # no bulk string can follow a bad type byte
        ("resp", b"*1\r\n$99999999\r\n"),  # over the limit
        ("http", b"garbage\r\n\r\n"),
        ("http", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"),
        ("raw", b"anything"),  # the default: the codec cannot tell
    ],
)
def test_bytes_nothing_can_finish_get_none(codec: str, prefix: bytes) -> None:
    assert get_codec(codec).completion(prefix, limit=1 << 20) is None
