"""Requests: payloads and their encodings agree, for every codec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies_support import DATAGRAM, FAST, FRAMED_CODECS, STREAM_CODECS, simplest

from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.strategies import Requests, requests

CODECS = {**STREAM_CODECS, "datagram": DATAGRAM}


@pytest.mark.parametrize("name", sorted(set(CODECS) - {"http"}))  # http: test_strategies_http
def test_wire_frames_are_the_codec_encodings(name: str) -> None:
    codec = CODECS[name]

    @FAST
    @given(requests(codec, max_frames=3))
    def check(reqs: Requests) -> None:
        assert 1 <= len(reqs) <= 3
        assert reqs.wire == tuple(codec.encode(p) for p in reqs.payloads)
        assert reqs.data == b"".join(reqs.wire)

    check()


@pytest.mark.parametrize("name", sorted(FRAMED_CODECS))
def test_framed_codecs_decode_the_data_back_into_one_frame_each(name: str) -> None:
    codec = FRAMED_CODECS[name]

    @FAST
    @given(requests(codec))
    def check(reqs: Requests) -> None:
        decoder = codec.request_decoder()
        assert len(decoder.feed(reqs.data) + decoder.feed(b"")) == len(reqs)

    check()


@FAST
@given(requests(STREAM_CODECS["line"], max_frames=5))
def test_boundaries_are_where_frames_meet(reqs: Requests) -> None:
    ends = []
    offset = 0
    for frame in reqs.wire[:-1]:
        offset += len(frame)
        ends.append(offset)
    assert reqs.boundaries == tuple(ends)


def test_requests_shrink_to_one_empty_payload() -> None:
    codec: Codec = STREAM_CODECS["line"]
    found = simplest(requests(codec))
    assert found == Requests((b"",), (b"\n",))


def test_min_payload_is_honoured_and_capped_by_max_frame() -> None:
    codec = STREAM_CODECS["lenprefix-1"]  # max_frame=100
    found = simplest(requests(codec, min_payload=3, max_payload=500))
    assert found.payloads == (b"\x00\x00\x00",)
    capped = simplest(requests(codec, min_payload=100, max_payload=500))
    assert capped.payloads == (b"\x00" * 100,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_frames": 3, "max_frames": 2}, "min_frames=3 is larger than max_frames=2"),
        ({"max_payload": -1}, "max_payload must be a whole number >= 0"),
        ({"min_payload": 101, "max_payload": 500}, "min_payload=101 is larger than max_payload"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        requests(STREAM_CODECS["lenprefix-1"], **kwargs)


def test_a_non_codec_is_refused_with_a_hint() -> None:
    with pytest.raises(UsageError, match=r"expected a Codec such as get_codec\('line'\)"):
        requests("line")  # type: ignore[arg-type]


def test_requests_mismatched_lengths_are_refused() -> None:
    with pytest.raises(UsageError, match="2 payloads but 1 wire frames"):
        Requests((b"a", b"b"), (b"a\n",))


@FAST
@given(st.data())
def test_requests_are_frozen(data: st.DataObject) -> None:
    reqs = data.draw(requests(STREAM_CODECS["resp"]))
    with pytest.raises(AttributeError):
        reqs.wire = ()  # type: ignore[misc]
