"""The contract every codec keeps: round trips, any split, one byte at a time, the registry."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import CODECS, Codec, Decoder, codec_names, get_codec
from wirefault.errors import CodecError, FrameError, UsageError

STREAM = [n for n in codec_names() if CODECS[n].transport == "stream"]
SETTINGS = settings(max_examples=50, deadline=None)


def _http_canonical(p: bytes) -> bytes:
    head = b"POST /wirefault HTTP/1.1\r\nhost: wirefault\r\ncontent-length: %d\r\n\r\n"
    return head % len(p) + p


# What the request decoder gives back for encode(payload), per codec.
EXPECTED: dict[str, Callable[[bytes], list[bytes]]] = {
    "raw": lambda p: [p] if p else [],
    "line": lambda p: [p.replace(b"\r", b" ").replace(b"\n", b" ")],
    "lenprefix": lambda p: [p],
    "lenfield": lambda p: [len(p).to_bytes(4, "big") + p],
    "http": lambda p: [_http_canonical(p)],
    "resp": lambda p: [get_codec("resp").encode(p)],
    "datagram": lambda p: [p],
}


def feed_all(decoder: Decoder, chunks: list[bytes]) -> list[bytes]:
    """Feed each chunk, then EOF; return every frame."""
    frames: list[bytes] = []
    for chunk in chunks:
        frames += decoder.feed(chunk)
    frames += decoder.feed(b"")
    return frames


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """Split ``data`` at ``points`` (any order, duplicates allowed)."""
    edges = [0, *sorted(set(points)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def test_registry_names_every_codec() -> None:
    assert codec_names() == ("raw", "line", "lenprefix", "lenfield", "http", "resp", "datagram")
    assert set(EXPECTED) == set(CODECS)


@pytest.mark.parametrize("name", codec_names())
def test_get_codec_builds_the_registered_class_with_defaults(name: str) -> None:
    codec = get_codec(name)
    assert isinstance(codec, CODECS[name])
    assert codec.name == name


@pytest.mark.parametrize("name", codec_names())
def test_options_rebuild_an_equal_codec(name: str) -> None:
    codec = get_codec(name)
    assert get_codec(name, **codec.options()) == codec


def test_unknown_codec_lists_the_valid_names() -> None:
    with pytest.raises(
        UsageError,
        match=r"unknown codec 'smtp'.*raw, line, lenprefix, lenfield, http.*module:ClassName",
    ):
        get_codec("smtp")


def test_unknown_option_lists_the_codec_options() -> None:
    with pytest.raises(
        UsageError, match=r"no option 'max_line'.*header_bytes, byteorder, max_frame"
    ):
        get_codec("lenprefix", max_line=5)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("lenprefix", {"header_bytes": 3}, "header_bytes must be one of 1, 2, 4, 8, got 3"),
        ("lenprefix", {"byteorder": "middle"}, "'big' or 'little', got 'middle'"),
        ("lenfield", {"length_bytes": 5}, "1, 2, 3, 4, 8 or 'varint', got 5"),
        ("lenfield", {"length_bytes": "zigzag"}, "1, 2, 3, 4, 8 or 'varint', got 'zigzag'"),
        ("lenfield", {"length_bytes": True}, "length_bytes must be int or str, got True"),
        ("lenfield", {"length_offset": -1}, "length_offset must be >= 0"),
        ("lenfield", {"length_adjust": 20, "max_frame": 10}, "below length_adjust=20"),
        ("lenfield", {"length_adjust": "4"}, "length_adjust must be int, got '4'"),
        ("line", {"max_line": 0}, "max_line must be >= 1"),
        ("raw", {"max_frame": -1}, "max_frame must be >= 1"),
        ("datagram", {"max_frame": 70000}, "between 1 and 65507"),
        ("http", {"volatile_headers": "date,x y"}, "comma-separated header names"),
        ("resp", {"max_frame": "big"}, "max_frame must be int, got 'big'"),
        ("line", {"max_line": True}, "max_line must be int, got True"),
    ],
)
def test_bad_option_values_are_usage_errors(
    name: str, options: dict[str, int | str | bool], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        get_codec(name, **options)


@pytest.mark.parametrize("name", codec_names())
def test_encode_rejects_payloads_beyond_max_frame(name: str) -> None:
    codec = get_codec(name, **({"max_line": 8} if name == "line" else {"max_frame": 8}))
    assert codec.max_frame == 8
    codec.encode(b"x" * 8)
    with pytest.raises(CodecError, match="exceeds"):
        codec.encode(b"x" * 9)


@pytest.mark.parametrize("name", codec_names())
def test_probe_is_one_request(name: str) -> None:
    codec = get_codec(name)
    assert len(codec.request_decoder().feed(codec.probe())) == 1


@pytest.mark.parametrize("name", codec_names())
@SETTINGS
@given(payload=st.binary(max_size=64))
def test_request_round_trip(name: str, payload: bytes) -> None:
    codec = get_codec(name)
    decoder = codec.request_decoder()
    frames = decoder.feed(codec.encode(payload))
    assert frames == EXPECTED[name](payload)
    assert decoder.pending == 0


@pytest.mark.parametrize("name", ["raw", "line", "lenprefix", "lenfield", "resp", "datagram"])
@SETTINGS
@given(payload=st.binary(max_size=64))
def test_requests_read_back_as_responses(name: str, payload: bytes) -> None:
    # For these protocols an echoed request is a valid response.
    codec = get_codec(name)
    assert codec.response_decoder().feed(codec.encode(payload)) == EXPECTED[name](payload)


@pytest.mark.parametrize("name", STREAM)
@SETTINGS
@given(payloads=st.lists(st.binary(max_size=40), min_size=1, max_size=6), data=st.data())
def test_any_split_gives_the_frames_of_the_whole_stream(
    name: str, payloads: list[bytes], data: st.DataObject
) -> None:
    codec = get_codec(name)
    stream = b"".join(codec.encode(p) for p in payloads)
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts")
    whole = feed_all(codec.request_decoder(), [stream])
    split = feed_all(codec.request_decoder(), cut(stream, points))
    if codec.framed:
        assert split == whole == [f for p in payloads for f in EXPECTED[name](p)]
    else:
        assert codec.join(split) == codec.join(whole) == stream


@pytest.mark.parametrize("name", STREAM)
def test_one_byte_at_a_time_gives_the_same_frames(name: str) -> None:
    codec = get_codec(name)
    payloads = [b"", b"a", b"hello world", bytes(range(256))]
    stream = b"".join(codec.encode(p) for p in payloads)
    whole = feed_all(codec.request_decoder(), [stream])
    trickled = feed_all(codec.request_decoder(), [stream[i : i + 1] for i in range(len(stream))])
    if codec.framed:
        assert trickled == whole
    else:
        assert codec.join(trickled) == codec.join(whole) == stream


@pytest.mark.parametrize("name", STREAM)
def test_pending_counts_an_unfinished_frame(name: str) -> None:
    codec: Codec = get_codec(name)
    decoder = codec.request_decoder()
    wire = codec.encode(b"payload")
    decoder.feed(wire[:-1])
    assert decoder.pending == (0 if name == "raw" else len(wire) - 1)
    decoder.feed(wire[-1:])
    assert decoder.pending == 0


# Fragments that push decoders into their odd corners: interim and switching
# responses, unsupported codings, CONNECT, upgrades, bare terminators.
_ODD = [
    b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab",
    b"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n",
    b"*1\r\n",
    b"$3\r\n",
    b"\x00\x00\x00\x01",
    b"\r\n",
    b"\n",
]


@pytest.mark.parametrize("name", codec_names())
@pytest.mark.parametrize("role", ["request", "response"])
@SETTINGS
@given(chunks=st.lists(st.one_of(st.binary(min_size=1, max_size=20), st.sampled_from(_ODD))))
def test_garbage_raises_nothing_but_frame_error(name: str, role: str, chunks: list[bytes]) -> None:
    codec = get_codec(name)
    decoder = codec.request_decoder() if role == "request" else codec.response_decoder()
    with contextlib.suppress(FrameError):
        feed_all(decoder, chunks)
