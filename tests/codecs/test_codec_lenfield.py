"""The lenfield codec on six real protocols' frames, one byte at a time, and its limits."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import LenFieldCodec, get_codec
from wirefault.codecs.lenfield import decode_varint, encode_varint
from wirefault.errors import CodecError, FrameError, UsageError

MODBUS = LenFieldCodec(length_offset=4, length_bytes=2)
MQTT = LenFieldCodec(length_offset=1, length_bytes="varint")
MEMCACHED = LenFieldCodec(length_offset=8, length_bytes=4, length_adjust=12)
POSTGRES = LenFieldCodec(length_offset=1, length_bytes=4, length_adjust=-4)
TLS = LenFieldCodec(length_offset=3, length_bytes=2)
DNS = LenFieldCodec(length_offset=0, length_bytes=2)

_MEMCACHED_GET = bytes.fromhex("80000001000000000000000100000000") + bytes(8) + b"k"
_MEMCACHED_MISS = bytes.fromhex("81000000000000010000000900000000") + bytes(8) + b"Not found"
_DNS_QUERY = bytes.fromhex("12340100000100000000000007") + b"example\x03com\x00\x00\x01\x00\x01"

#: (codec, frames as their protocol sends them: requests and replies).
PROTOCOLS = {
    "modbus": (
        MODBUS,
        [
            bytes.fromhex("000100000006010300000001"),  # read holding register 0
            bytes.fromhex("000100000005010302002a"),  # its reply: 42
            bytes.fromhex("000200000003018302"),  # an exception reply
        ],
    ),
    "mqtt": (
        MQTT,
        [
            bytes.fromhex("100e00044d5154540402003c00027766"),  # CONNECT, client id "wf"
            bytes.fromhex("20020000"),  # CONNACK
            bytes.fromhex("c000"),  # PINGREQ: no bytes after the field
            b"\x30\xcb\x01\x00\x01t" + b"p" * 200,  # PUBLISH: a two-byte varint (203)
        ],
    ),
    "memcached-binary": (MEMCACHED, [_MEMCACHED_GET, _MEMCACHED_MISS]),
    "postgresql": (
        POSTGRES,
        [b"Q\x00\x00\x00\x0eselect 1;\x00", b"Z\x00\x00\x00\x05I", b"S\x00\x00\x00\x04"],
    ),
    "tls": (TLS, [bytes.fromhex("16030100050100000100"), bytes.fromhex("15030300020228")]),
    "dns-tcp": (DNS, [b"\x00\x1d" + _DNS_QUERY]),
}


def trickle(codec: LenFieldCodec, data: bytes) -> list[bytes]:
    decoder = codec.response_decoder()
    frames = [f for i in range(len(data)) for f in decoder.feed(data[i : i + 1])]
    return frames + decoder.feed(b"")


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_each_frame_decodes_whole_and_one_byte_at_a_time(name: str) -> None:
    codec, frames = PROTOCOLS[name]
    stream = b"".join(frames)
    assert codec.request_decoder().feed(stream) == frames
    assert trickle(codec, stream) == frames


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_any_split_of_the_frames_gives_the_same_frames(name: str) -> None:
    codec, frames = PROTOCOLS[name]
    stream = b"".join(frames * 2)
    for a, b in itertools.combinations(range(0, len(stream), 3), 2):
        decoder = codec.request_decoder()
        parts = [stream[:a], stream[a:b], stream[b:]]
        got = [f for p in parts if p for f in decoder.feed(p)]
        assert got == frames * 2, (a, b)
        assert decoder.pending == 0


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_reframe_of_a_frame_with_its_own_payload_is_the_frame(name: str) -> None:
    codec, frames = PROTOCOLS[name]
    for frame in frames:
        payload = codec.payload_of(frame)
        assert payload is not None
        assert codec.reframe(frame, payload) == frame


def test_reframe_keeps_the_head_and_recomputes_the_length() -> None:
    read = bytes.fromhex("000700000006010300000001")
    assert MODBUS.reframe(read, b"\x01\x04\x00\x10\x00\x02\x00") == bytes.fromhex(
        "000700000007" + "01040010000200"
    )
    assert (
        POSTGRES.reframe(b"Q\x00\x00\x00\x0eselect 1;\x00", b"x\x00") == b"Q\x00\x00\x00\x06x\x00"
    )
    assert MQTT.reframe(b"\x30\x03\x00\x01t", b"a" * 130) == b"\x30\x82\x01" + b"a" * 130


def test_encode_puts_zeros_before_the_field() -> None:
    assert MODBUS.encode(b"\x01\x03") == bytes.fromhex("000000000002") + b"\x01\x03"
    assert DNS.encode(b"abc") == b"\x00\x03abc"
    assert LenFieldCodec(length_bytes=3, byteorder="little").encode(b"ab") == b"\x02\x00\x00ab"


def test_encode_pads_a_payload_shorter_than_a_positive_adjust() -> None:
    # memcached's binary header always has 12 bytes (opaque, cas) after the body length.
    wire = MEMCACHED.encode(b"")
    assert wire == bytes(8) + b"\x00\x00\x00\x00" + bytes(12)
    assert MEMCACHED.request_decoder().feed(wire) == [wire]


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (321, b"\xc1\x02"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_varints_are_mqtt_remaining_lengths(value: int, wire: bytes) -> None:
    assert encode_varint(value) == wire
    assert decode_varint(wire, 0, 10) == (value, len(wire))
    assert decode_varint(wire[:-1], 0, 10) is None  # unfinished


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**63))
def test_varints_round_trip(value: int) -> None:
    wire = encode_varint(value)
    assert decode_varint(b"\xaa" + wire, 1, 10) == (value, len(wire))


def test_max_frame_is_capped_at_what_the_field_can_express() -> None:
    assert LenFieldCodec(length_bytes=1).max_frame == 255
    assert LenFieldCodec(length_bytes=1, length_adjust=-4).max_frame == 251
    assert MEMCACHED.max_frame == 1 << 20
    assert MODBUS.max_frame == 65535
    assert get_codec("lenfield", **MODBUS.options()) == MODBUS


def test_encode_refuses_a_payload_beyond_max_frame() -> None:
    with pytest.raises(CodecError, match="exceeds max_frame=255"):
        LenFieldCodec(length_bytes=1).encode(b"x" * 256)


def test_a_length_beyond_max_frame_fails_as_soon_as_the_field_is_read() -> None:
    codec = LenFieldCodec(length_offset=2, length_bytes=2, max_frame=100)
    decoder = codec.request_decoder()
    assert decoder.feed(b"ab\x00\x01x") == [b"ab\x00\x01x"]
    with pytest.raises(FrameError, match=r"says 101 .*beyond max_frame=100") as info:
        decoder.feed(b"cd\x00\x65")  # no body sent: the field alone is enough
    assert info.value.offset == 5


def test_a_length_ending_the_frame_inside_its_header_is_refused() -> None:
    # PostgreSQL's length counts itself: 3 would end the frame before the field does.
    with pytest.raises(FrameError, match="inside its own 5-byte header"):
        POSTGRES.request_decoder().feed(b"Q\x00\x00\x00\x03")


def test_a_varint_longer_than_any_valid_length_is_refused() -> None:
    # 1 MiB needs 3 groups of 7 bits: a third byte that says "more follows" is never valid.
    decoder = MQTT.request_decoder()
    assert decoder.feed(b"\x30\xff\xff") == []
    with pytest.raises(FrameError, match="varint length of more than 3 bytes"):
        decoder.feed(b"\xff")


def test_eof_inside_the_header_or_the_body_is_a_frame_error() -> None:
    decoder = MODBUS.request_decoder()
    decoder.feed(b"\x00\x01\x00\x00\x00")
    with pytest.raises(FrameError, match="inside the header"):
        decoder.feed(b"")
    decoder = MODBUS.request_decoder()
    decoder.feed(bytes.fromhex("00010000000601"))
    assert decoder.pending == 7
    with pytest.raises(FrameError, match="inside a 12-byte frame"):
        decoder.feed(b"")


def test_payload_of_without_a_whole_field_is_none() -> None:
    assert MODBUS.payload_of(b"\x00\x01\x00") is None
    assert MQTT.payload_of(b"\x30\xff\xff\xff\xff") is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"length_bytes": 1, "length_adjust": -255}, "field cannot hold"),
        ({"max_frame": 0}, "max_frame must be >= 1"),
        ({"byteorder": "middle"}, "'big' or 'little'"),
    ],
)
def test_impossible_layouts_are_usage_errors(options: dict[str, int | str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        get_codec("lenfield", **options)
