"""The raw and datagram codecs: identity encoders and pass-through decoders."""

from __future__ import annotations

from wirefault.codecs import DatagramCodec, RawCodec


def test_raw_is_unframed_and_returns_data_as_it_arrives() -> None:
    codec = RawCodec()
    assert not codec.framed
    decoder = codec.response_decoder()
    assert decoder.feed(b"ab") == [b"ab"]
    assert decoder.feed(b"c") == [b"c"]
    assert codec.join([b"ab", b"c"]) == b"abc"


def test_raw_eof_completes_nothing_and_never_fails() -> None:
    decoder = RawCodec().request_decoder()
    decoder.feed(b"half a message")
    assert decoder.feed(b"") == []
    assert decoder.pending == 0


def test_raw_encode_is_identity() -> None:
    assert RawCodec().encode(b"\x00\n") == b"\x00\n"


def test_datagram_codec_speaks_datagrams() -> None:
    codec = DatagramCodec()
    assert codec.transport == "datagram"
    assert codec.framed
    assert codec.max_frame == 65507


def test_each_feed_is_one_datagram_and_empty_is_a_datagram() -> None:
    decoder = DatagramCodec().response_decoder()
    assert decoder.feed(b"one") == [b"one"]
    assert decoder.feed(b"") == [b""]
    assert decoder.feed(b"two") == [b"two"]
    assert decoder.pending == 0


def test_datagram_encode_accepts_the_largest_udp_payload() -> None:
    big = b"x" * 65507
    assert DatagramCodec().encode(big) == big
