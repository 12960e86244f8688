"""The lenprefix codec: header widths, byte orders, limits, truncation."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import Decoder, LenPrefixCodec
from wirefault.errors import CodecError, FrameError


def feed_in_pieces(decoder: Decoder, data: bytes, points: list[int]) -> list[bytes]:
    """Feed ``data`` cut at ``points`` (any order), then EOF; return every frame."""
    edges = [0, *sorted(set(points)), len(data)]
    frames: list[bytes] = []
    for a, b in itertools.pairwise(edges):
        if b > a:
            frames += decoder.feed(data[a:b])
    return frames + decoder.feed(b"")


@pytest.mark.parametrize(
    ("header_bytes", "byteorder", "wire"),
    [
        (1, "big", b"\x02hi"),
        (2, "big", b"\x00\x02hi"),
        (2, "little", b"\x02\x00hi"),
        (4, "big", b"\x00\x00\x00\x02hi"),
        (8, "little", b"\x02" + bytes(7) + b"hi"),
    ],
)
def test_encode_writes_the_header_in_the_configured_width_and_order(
    header_bytes: int, byteorder: str, wire: bytes
) -> None:
    codec = LenPrefixCodec(header_bytes=header_bytes, byteorder=byteorder)  # type: ignore[arg-type]
    assert codec.encode(b"hi") == wire
    assert codec.response_decoder().feed(wire) == [b"hi"]


def test_max_frame_is_capped_at_what_the_header_can_express() -> None:
    assert LenPrefixCodec(header_bytes=1).max_frame == 255
    assert LenPrefixCodec(header_bytes=2, max_frame=10).max_frame == 10
    assert LenPrefixCodec(header_bytes=2).options()["max_frame"] == 65535


def test_encode_refuses_what_the_header_cannot_hold() -> None:
    with pytest.raises(CodecError, match="a 1-byte header holds at most 255"):
        LenPrefixCodec(header_bytes=1).encode(b"x" * 256)


def test_empty_frames_are_frames() -> None:
    assert LenPrefixCodec().request_decoder().feed(bytes(8)) == [b"", b""]


def test_a_length_beyond_max_frame_fails_as_soon_as_the_header_is_complete() -> None:
    decoder = LenPrefixCodec(max_frame=100).request_decoder()
    assert decoder.feed(b"\x00\x00\x00\x01x\x00\x00") == [b"x"]
    with pytest.raises(FrameError, match="declares 101 bytes, beyond max_frame=100") as info:
        decoder.feed(b"\x00\x65")  # no body sent: the header alone is enough
    assert info.value.offset == 5


def test_eof_mid_header_is_a_frame_error() -> None:
    decoder = LenPrefixCodec().request_decoder()
    decoder.feed(b"\x00\x00")
    with pytest.raises(FrameError, match="inside the 4-byte header"):
        decoder.feed(b"")


def test_eof_mid_body_is_a_frame_error() -> None:
    decoder = LenPrefixCodec().request_decoder()
    decoder.feed(b"\x00\x00\x00\x05abc")
    with pytest.raises(FrameError, match=r"inside a 5-byte body \(3 bytes of it"):
        decoder.feed(b"")


@settings(max_examples=50, deadline=None)
@given(
    header_bytes=st.sampled_from([1, 2, 4, 8]),
    byteorder=st.sampled_from(["big", "little"]),
    payloads=st.lists(st.binary(max_size=300), max_size=5),
    data=st.data(),
)
def test_frames_come_back_whatever_the_split_for_every_header_layout(
    header_bytes: int, byteorder: str, payloads: list[bytes], data: st.DataObject
) -> None:
    codec = LenPrefixCodec(header_bytes=header_bytes, byteorder=byteorder)  # type: ignore[arg-type]
    payloads = [p[: codec.max_frame] for p in payloads]
    stream = b"".join(codec.encode(p) for p in payloads)
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    frames = feed_in_pieces(codec.request_decoder(), stream, points)
    assert frames == payloads
