"""Requests drawn from samples: as they are, mutated, re-framed; truncated and corrupted."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies_support import FAST, drawn, minimal

from wirefault.codecs import LenFieldCodec, get_codec
from wirefault.codecs.base import Codec
from wirefault.errors import FrameError, UsageError
from wirefault.scenario import Send
from wirefault.strategies import malformed_frames, requests
from wirefault.strategies.frames import Requests
from wirefault.strategies.malformed import MalformedFrame
from wirefault.strategies.samples import sample_frames, sample_malformations
from wirefault.strategies.scenarios import (
    large_payload_scenarios,
    pipelining_scenarios,
    reassembly_scenarios,
)

MODBUS = LenFieldCodec(length_offset=4, length_bytes=2)
MODBUS_SAMPLES = (
    bytes.fromhex("000100000006010300000001"),  # read holding register
    bytes.fromhex("00020000000601060001002a"),  # write register
)
MQTT = LenFieldCodec(length_offset=1, length_bytes="varint")
MQTT_SAMPLES = (b"\x30\x08\x00\x01tpayload"[:10], b"\xc0\x00")  # PUBLISH, PINGREQ
POSTGRES = LenFieldCodec(length_offset=1, length_bytes=4, length_adjust=-4)
PG_SAMPLES = (b"Q\x00\x00\x00\x0eselect 1;\x00",)
CASES: dict[str, tuple[Codec, tuple[bytes, ...]]] = {
    "modbus": (MODBUS, MODBUS_SAMPLES),
    "mqtt": (MQTT, MQTT_SAMPLES),
    "postgresql": (POSTGRES, PG_SAMPLES),
    "line": (get_codec("line"), (b"GET key\r\n", b"STATS\n")),
    "resp": (get_codec("resp"), (b"*1\r\n$4\r\nPING\r\n",)),
}


def one_frame(codec: Codec, wire: bytes) -> bytes:
    """The single request ``wire`` holds (fails the test otherwise)."""
    decoder = codec.request_decoder()
    frames = decoder.feed(wire) + decoder.feed(b"")
    assert len(frames) == 1, wire
    return frames[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_frame_drawn_from_samples_is_one_whole_request(name: str) -> None:
    codec, samples = CASES[name]

    @FAST
    @given(sample_frames(codec, samples))
    def check(frame: tuple[bytes, bytes]) -> None:
        payload, wire = frame
        one_frame(codec, wire)
        if isinstance(codec, LenFieldCodec):  # a line codec maps \n in a payload to a space
            assert codec.payload_of(wire) == payload

    check()


@pytest.mark.parametrize("name", ["modbus", "mqtt", "postgresql"])
def test_mutated_samples_keep_the_head_before_the_length_field(name: str) -> None:
    codec, samples = CASES[name]
    assert isinstance(codec, LenFieldCodec)
    heads = {s[: codec.length_offset] for s in samples}

    @FAST
    @given(sample_frames(codec, samples))
    def check(frame: tuple[bytes, bytes]) -> None:
        assert frame[1][: codec.length_offset] in heads

    check()


def test_samples_are_drawn_as_they_are_and_with_new_payloads() -> None:
    wires = sample_frames(MODBUS, MODBUS_SAMPLES).map(lambda f: f[1])
    assert drawn(wires, lambda w: w == MODBUS_SAMPLES[1]) == MODBUS_SAMPLES[1]
    other = drawn(wires, lambda w: w not in MODBUS_SAMPLES and w[:4] == b"\x00\x02\x00\x00")
    assert int.from_bytes(other[4:6], "big") == len(other) - 6  # the length recomputed


def sampled(reqs: Requests) -> bool:
    """Whether some request carries a sample's head (generated ones have zeros there)."""
    return any(w[:4] != bytes(4) for w in reqs.wire)


def test_requests_made_from_samples_shrink_to_the_first_sample() -> None:
    found = minimal(requests(MODBUS, samples=MODBUS_SAMPLES), sampled)
    assert found == Requests((MODBUS_SAMPLES[0][6:],), (MODBUS_SAMPLES[0],))


def test_generated_payloads_ride_in_the_samples_frames() -> None:
    payloads = {s[6:] for s in MODBUS_SAMPLES}
    heads = {s[:4] for s in MODBUS_SAMPLES}

    @FAST
    @given(requests(MODBUS, samples=MODBUS_SAMPLES))
    def check(reqs: Requests) -> None:
        # With samples, no request is made from zeros: each starts like a sample.
        assert all(w[:4] in heads and one_frame(MODBUS, w) for w in reqs.wire)

    check()
    fresh = drawn(
        requests(MODBUS, samples=MODBUS_SAMPLES),
        lambda r: any(len(p) > 8 and p not in payloads for p in r.payloads),
    )
    assert all(w[:4] in heads for w in fresh.wire)


def test_codecs_without_payloads_draw_samples_and_generated_requests() -> None:
    codec = get_codec("resp")
    sample = b"*1\r\n$4\r\nPING\r\n"
    reqs = requests(codec, samples=[sample])
    assert drawn(reqs, lambda r: sample in r.wire)
    assert drawn(reqs, lambda r: r.wire and sample not in r.wire)


def test_codecs_that_cannot_tell_a_payload_replay_samples_as_they_are() -> None:
    codec = get_codec("http")
    sample = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"

    @FAST
    @given(sample_frames(codec, [sample]))
    def check(frame: tuple[bytes, bytes]) -> None:
        assert frame == (sample, sample)

    check()


def test_reassembly_and_pipelining_send_the_samples() -> None:
    def sent(scenario: object) -> bytes:
        steps = scenario.steps  # type: ignore[attr-defined]
        return b"".join(s.data for s in steps if isinstance(s, Send) and s.conn == 0)

    def from_samples(scenario: object) -> bool:
        return sent(scenario)[:4] != bytes(4)

    whole = minimal(reassembly_scenarios(MODBUS, samples=MODBUS_SAMPLES), from_samples)
    assert sent(whole) == MODBUS_SAMPLES[0]
    piped = minimal(pipelining_scenarios(MODBUS, samples=MODBUS_SAMPLES), from_samples)
    assert sent(piped) == MODBUS_SAMPLES[0] * 2


def test_large_payloads_ride_in_a_samples_frame() -> None:
    scenario = minimal(large_payload_scenarios(MODBUS, samples=MODBUS_SAMPLES[1:]))
    wire = next(s.data for s in scenario.steps if isinstance(s, Send))
    assert wire[:4] == MODBUS_SAMPLES[1][:4]


@pytest.mark.parametrize("name", sorted(CASES))
def test_truncated_samples_are_rejected_exactly_when_must_fail_says(name: str) -> None:
    codec, samples = CASES[name]

    @FAST
    @given(malformed_frames(codec, samples=samples))
    def check(bad: MalformedFrame) -> None:
        if bad.kind != "truncated-sample":
            return
        assert not bad.complete
        assert any(s.startswith(bad.data) and s != bad.data for s in samples)
        decoder = codec.request_decoder()
        try:
            decoder.feed(bad.data)
            decoder.feed(b"")
            rejected = False
        except FrameError:
            rejected = True
        assert rejected == bad.must_fail

    check()


def test_sample_kinds_are_drawn_with_samples_only() -> None:
    kinds = malformed_frames(MODBUS, samples=MODBUS_SAMPLES).map(lambda m: m.kind)
    for kind in ("truncated-sample", "corrupted-sample"):
        assert drawn(kinds, kind.__eq__) == kind
    corrupted = drawn(
        malformed_frames(MODBUS, samples=MODBUS_SAMPLES), lambda m: m.kind == "corrupted-sample"
    )
    assert len(corrupted.data) in {len(s) for s in MODBUS_SAMPLES}
    assert corrupted.data not in MODBUS_SAMPLES
    assert sample_malformations(MODBUS, ()) == []


def test_lenfield_malformations_start_with_a_samples_head() -> None:
    @FAST
    @given(malformed_frames(POSTGRES, samples=PG_SAMPLES))
    def check(bad: MalformedFrame) -> None:
        if bad.kind not in ("garbage", "corrupted-sample"):
            assert bad.data[:1] == b"Q"

    check()


@pytest.mark.parametrize("bad", [[b""], ["text"], [None]])
def test_samples_must_be_non_empty_bytes(bad: list[object]) -> None:
    with pytest.raises(UsageError, match="samples must be non-empty bytes"):
        sample_frames(MODBUS, bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="samples must be non-empty bytes"):
        requests(MODBUS, samples=bad)  # type: ignore[arg-type]


def test_stalls_with_samples_stall_and_serve_a_sample_as_it_is() -> None:
    from wirefault.strategies.scenarios import stall_scenarios

    @FAST
    @given(stall_scenarios(MQTT, samples=MQTT_SAMPLES, no_read_bytes=4096))
    def check(scenario: object) -> None:
        steps = scenario.steps  # type: ignore[attr-defined]
        served = [s for s in steps if isinstance(s, Send) and s.conn == 1]
        assert [s.data for s in served] in ([x] for x in MQTT_SAMPLES)
        flood = [s for s in steps if isinstance(s, Send) and s.conn == 0]
        assert flood[0].data[:1] in {x[:1] for x in MQTT_SAMPLES}  # never a zero head

    check()
