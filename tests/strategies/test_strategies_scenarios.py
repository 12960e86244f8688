"""Scenario builders produce exactly the shapes the property judges read, and replay as JSON."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis.strategies import SearchStrategy
from strategies_support import (
    DATAGRAM,
    FAST,
    FRAMED_CODECS,
    STREAM_CODECS,
    drawn,
    round_trips,
    sends_on,
    shape,
    simplest,
    step_of,
)

import wirefault.strategies._datagram_scenarios as datagram_builders
import wirefault.strategies.scenarios as scenarios
from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.scenario import Close, Expect, HalfClose, Open, Pause, Scenario, Send
from wirefault.strategies import (
    MalformedFrame,
    datagram_fault_scenarios,
    datagram_reply_scenarios,
    datagram_size_scenarios,
    echo_scenarios,
    half_close_scenarios,
    large_payload_scenarios,
    malformed_cases,
    malformed_scenarios,
    pipelining_scenarios,
    reassembly_scenarios,
    reset_scenarios,
    stall_scenarios,
)

LINE = STREAM_CODECS["line"]


def _frames(codec: Codec, data: bytes) -> int:
    decoder = codec.request_decoder()
    return len(decoder.feed(data) + decoder.feed(b""))


def _check(strategy: SearchStrategy[Scenario], check: Callable[[Scenario], None]) -> None:
    """Run ``check`` on drawn scenarios, each also replayed through JSON."""

    @FAST
    @given(strategy)
    def run(scenario: Scenario) -> None:
        check(scenario)
        assert round_trips(scenario)

    run()


def _assert(ok: bool) -> None:
    assert ok


# -- stream shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_reassembly_sends_the_same_bytes_whole_then_chunked(name: str) -> None:
    codec = STREAM_CODECS[name]

    def check(s: Scenario) -> None:
        assert shape(s) == [
            ("send", 0),
            ("expect", 0),
            ("close", 0),
            ("send", 1),
            ("expect", 1),
            ("close", 1),
        ]
        whole, chunked = step_of(s, 0, Send), step_of(s, 3, Send)
        assert len(whole.chunks) == 1
        assert chunked.data == whole.data
        n = step_of(s, 1, Expect).count
        assert step_of(s, 4, Expect).count == n
        if codec.framed:
            assert _frames(codec, whole.data) == n
        # Pauses keep chunks apart (at least 1 ms) yet add up to little.
        assert (
            chunked.pause * (len(chunked.chunks) - 1)
            <= max(0.1, 0.001 * len(chunked.chunks)) + 1e-9
        )
        if len(chunked.chunks) > 1:
            assert chunked.pause >= 0.001
        assert s.toxics == ()

    _check(reassembly_scenarios(codec), check)


def test_reassembly_draws_preserving_toxics_only_with_a_backend() -> None:
    def check(s: Scenario) -> None:
        assert {t.type for t in s.toxics} <= {"latency", "slicer", "bandwidth", "slow_close"}
        # Under toxics the baseline (c0) goes past the proxy, so that it is sent whole.
        assert (s.steps[0] == Open(conn=0, direct=True)) == bool(s.toxics)
        assert not any(isinstance(step, Open) for step in s.steps[1:])

    _check(reassembly_scenarios(LINE, backend="toxiproxy"), check)
    found = drawn(reassembly_scenarios(LINE, backend="embedded"), lambda s: len(s.toxics) == 2)
    assert all(t.seed is not None for t in found.toxics)


def test_reassembly_shrinks_to_one_frame_in_one_chunk_without_toxics() -> None:
    assert simplest(reassembly_scenarios(LINE, backend="embedded")) == Scenario(
        steps=(
            Send(conn=0, chunks=(b"\n",)),
            Expect(conn=0, count=1),
            Close(conn=0),
            Send(conn=1, chunks=(b"\n",)),
            Expect(conn=1, count=1),
            Close(conn=1),
        )
    )


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_pipelining_sends_one_by_one_then_all_in_one_write(name: str) -> None:
    codec = STREAM_CODECS[name]

    def check(s: Scenario) -> None:
        n = (len(s.steps) - 4) // 2
        assert n >= 2
        assert shape(s) == [("send", 0), ("expect", 0)] * n + [
            ("close", 0),
            ("send", 1),
            ("expect", 1),
            ("close", 1),
        ]
        singles = sends_on(s, 0)
        assert all(len(x.chunks) == 1 for x in singles)
        assert all(step_of(s, 2 * i + 1, Expect).count == 1 for i in range(n))
        together = sends_on(s, 1)[0]
        assert together.chunks == (b"".join(x.data for x in singles),)
        assert step_of(s, 2 * n + 2, Expect).count == n

    _check(pipelining_scenarios(codec), check)


@pytest.mark.parametrize("name", sorted(FRAMED_CODECS))
def test_malformed_sends_valid_frames_then_the_bad_one_then_probes(name: str) -> None:
    codec = FRAMED_CODECS[name]

    def check(case: tuple[MalformedFrame, Scenario]) -> None:
        bad, s = case
        ops = shape(s)
        valid = ops[:2] == [("send", 0), ("expect", 0)] and len(sends_on(s, 0)) == 2
        head = ops[:2] if valid else []
        middle = [("send", 0)] + ([] if bad.complete else [("half_close", 0)])
        tail = [("expect", 0), ("close", 0), ("send", 1), ("expect", 1), ("close", 1)]
        assert ops == head + middle + tail
        assert sends_on(s, 0)[-1].chunks == (bad.data,)
        if valid:
            k = step_of(s, 1, Expect).count
            assert 1 <= k <= 2
            assert _frames(codec, sends_on(s, 0)[0].data) == k
        assert sends_on(s, 1)[0].chunks == (codec.probe(),)

    @FAST
    @given(malformed_cases(codec))
    def run(case: tuple[MalformedFrame, Scenario]) -> None:
        check(case)
        assert round_trips(case[1])

    run()


def test_malformed_scenarios_take_a_custom_probe() -> None:
    found = drawn(malformed_scenarios(LINE, probe=b"HELLO\n"), lambda s: True)
    assert sends_on(found, 1)[0].chunks == (b"HELLO\n",)


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_a_mid_request_stall_sends_a_strict_prefix(name: str) -> None:
    codec = STREAM_CODECS[name]
    s = drawn(stall_scenarios(codec), lambda s: len(s.steps) == 5 and len(s.steps[0].data) > 1)  # type: ignore[attr-defined]
    assert shape(s) == [("send", 0), ("send", 1), ("expect", 1), ("close", 1), ("abort", 0)]
    assert round_trips(s)
    prefix, frame = sends_on(s, 0)[0].data, sends_on(s, 1)[0].data
    assert 1 <= len(prefix) < len(frame)
    assert frame.startswith(prefix)
    if codec.framed:
        assert _frames(codec, frame) == 1


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_a_no_read_stall_floods_at_least_two_mebibytes_of_frames(name: str) -> None:
    codec = STREAM_CODECS[name]

    def summary(s: Scenario) -> tuple[list[tuple[str, int | None]], int | None, int, int]:
        # Shape, rcvbuf, flood size and frames in it: no megabyte reprs in reports.
        opened = s.steps[0]
        if not isinstance(opened, Open):
            return shape(s), None, 0, 0
        flood = sends_on(s, 0)[0].data
        assert round_trips(s)
        return shape(s), opened.rcvbuf, len(flood), _frames(codec, flood) if codec.framed else 1

    ops, rcvbuf, size, frames = drawn(
        stall_scenarios(codec).map(summary), lambda summed: summed[1] is not None
    )
    assert ops == [("open", 0), ("send", 0), ("send", 1), ("expect", 1), ("close", 1), ("abort", 0)]
    assert rcvbuf == 4096
    assert size >= 2 * 1024 * 1024
    assert frames >= 1


def test_stalls_shrink_to_one_byte_mid_request() -> None:
    found = simplest(stall_scenarios(LINE))
    assert shape(found)[0] == ("send", 0)
    assert sends_on(found, 0)[0].data == b"\x00"


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_reset_clients_send_prefixes_then_abort_and_the_next_probes(name: str) -> None:
    codec = STREAM_CODECS[name]

    def check(s: Scenario) -> None:
        r = (len(s.steps) - 3) // 2
        assert 1 <= r <= 8
        expected = [op for i in range(r) for op in (("send", i), ("abort", i))]
        assert shape(s) == [*expected, ("send", r), ("expect", r), ("close", r)]
        sent = [sends_on(s, i)[0].data for i in range(r)]
        longest = max(sent, key=len)
        assert all(longest.startswith(p) for p in sent)
        assert sends_on(s, r)[0].chunks == (codec.probe(),)

    _check(reset_scenarios(codec), check)


def test_resets_shrink_to_one_client_sending_nothing() -> None:
    found = simplest(reset_scenarios(LINE))
    assert shape(found)[:2] == [("send", 0), ("abort", 0)]
    assert sends_on(found, 0)[0].chunks == (b"",)


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_half_close_sends_frames_then_shuts_down_after_a_baseline(name: str) -> None:
    codec = STREAM_CODECS[name]

    def check(s: Scenario) -> None:
        assert shape(s) == [
            ("send", 0),
            ("expect", 0),
            ("close", 0),
            ("send", 1),
            ("half_close", 1),
            ("expect_close", 1),
        ]
        assert s.steps[0].data == s.steps[3].data  # type: ignore[attr-defined]
        if codec.framed:
            assert _frames(codec, s.steps[0].data) >= 1  # type: ignore[attr-defined]
            assert s.steps[1].count == _frames(codec, s.steps[0].data)  # type: ignore[attr-defined]

    _check(half_close_scenarios(codec), check)


def test_half_close_comes_once_the_server_read_everything_or_at_once() -> None:
    # Both are drawn; the shrink target is the half-close after the server's read.
    at_once = drawn(half_close_scenarios(LINE), lambda s: s.steps[4].at_once)  # type: ignore[attr-defined]
    assert isinstance(at_once.steps[4], HalfClose) and at_once.steps[4].at_once
    assert not simplest(half_close_scenarios(LINE)).steps[4].at_once  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_large_payload_reads_the_same_frame_fast_then_slowly(name: str) -> None:
    codec = STREAM_CODECS[name]

    def check(s: Scenario) -> None:
        assert shape(s) == [
            ("send", 0),
            ("expect", 0),
            ("close", 0),
            ("open", 1),
            ("send", 1),
            ("expect", 1),
            ("close", 1),
        ]
        assert sends_on(s, 0)[0].chunks == sends_on(s, 1)[0].chunks
        assert len(sends_on(s, 0)[0].chunks) == 1
        assert step_of(s, 3, Open).rcvbuf == 8192
        assert step_of(s, 5, Expect) == Expect(conn=1, count=1, recv_size=8192, read_pause=0.0005)
        if codec.framed:
            assert _frames(codec, sends_on(s, 0)[0].data) == 1

    _check(large_payload_scenarios(codec, max_size=4096), check)


def test_large_payloads_reach_the_codec_maximum() -> None:
    codec = STREAM_CODECS["lenprefix-1"]  # max_frame=100, 1-byte header
    sizes = large_payload_scenarios(codec).map(lambda s: len(sends_on(s, 0)[0].data))
    assert drawn(sizes, lambda n: n == 101) == 101


@pytest.mark.parametrize("name", sorted(STREAM_CODECS))
def test_echo_sends_chunks_and_expects_every_frame(name: str) -> None:
    codec = STREAM_CODECS[name]

    def check(s: Scenario) -> None:
        assert shape(s) == [("send", 0), ("expect", 0), ("close", 0)]
        if codec.framed:
            assert _frames(codec, s.steps[0].data) == step_of(s, 1, Expect).count  # type: ignore[attr-defined]

    _check(echo_scenarios(codec), check)


# -- datagram shapes ---------------------------------------------------------------------------


def test_datagram_echo_sends_one_datagram_per_frame() -> None:
    def check(s: Scenario) -> None:
        assert shape(s) == [("send", 0), ("expect", 0), ("close", 0)]
        assert len(step_of(s, 0, Send).chunks) == step_of(s, 1, Expect).count

    _check(echo_scenarios(DATAGRAM), check)


def test_datagram_replies_are_expected_by_their_sender() -> None:
    def check(s: Scenario) -> None:
        used = s.connections()
        assert set(used) <= {0, 1}
        pairs = s.steps[: -len(used)]
        assert len(pairs) % 2 == 0
        for send, expect in zip(pairs[::2], pairs[1::2], strict=True):
            assert isinstance(send, Send)
            assert len(send.chunks) == 1
            assert expect == Expect(conn=send.conn, count=1)
        assert list(s.steps[-len(used) :]) == [Close(conn=c) for c in used]

    _check(datagram_reply_scenarios(DATAGRAM), check)
    both = drawn(datagram_reply_scenarios(DATAGRAM), lambda s: len(s.connections()) == 2)
    assert sorted(both.connections()) == [0, 1]


def test_datagram_replies_shrink_to_one_empty_datagram() -> None:
    assert simplest(datagram_reply_scenarios(DATAGRAM)) == Scenario(
        steps=(Send(conn=0, chunks=(b"",)), Expect(conn=0, count=1), Close(conn=0))
    )


def test_datagram_sizes_send_edges_pause_then_probe() -> None:
    def check(s: Scenario) -> None:
        k = len(s.steps) - 5
        assert 1 <= k <= 3
        assert shape(s) == [("send", 0)] * k + [
            ("pause", None),
            ("close", 0),
            ("send", 1),
            ("expect", 1),
            ("close", 1),
        ]
        assert step_of(s, k, Pause).seconds == 0.05
        assert all(len(x.data) <= 65507 for x in sends_on(s, 0))
        assert sends_on(s, 1)[0].chunks == (DATAGRAM.probe(),)

    _check(datagram_size_scenarios(DATAGRAM), check)
    biggest = datagram_size_scenarios(DATAGRAM).map(
        lambda s: max(len(x.data) for x in sends_on(s, 0))
    )
    assert drawn(biggest, lambda n: n == 65507) == 65507


def test_datagram_faults_are_preserving_toxics_with_the_embedded_backend_only() -> None:
    def check(s: Scenario) -> None:
        assert {t.type for t in s.toxics} <= {"duplicate", "reorder", "delay"}
        k = len(s.steps) - 5
        assert shape(s) == [("send", 0)] * k + [
            ("pause", None),
            ("close", 0),
            ("send", 1),
            ("expect", 1),
            ("close", 1),
        ]

    _check(datagram_fault_scenarios(DATAGRAM, backend="embedded"), check)
    assert drawn(
        datagram_fault_scenarios(DATAGRAM, backend="embedded"), lambda s: len(s.toxics) > 0
    ).toxics
    _check(datagram_fault_scenarios(DATAGRAM), lambda s: _assert(s.toxics == ()))


# -- cost ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "factory", "make"),
    [
        pytest.param(scenarios, "requests", lambda: reassembly_scenarios(LINE), id="reassembly"),
        pytest.param(
            scenarios,
            "toxic_schedules",
            lambda: reassembly_scenarios(LINE, backend="embedded"),
            id="reassembly-toxics",
        ),
        pytest.param(scenarios, "requests", lambda: pipelining_scenarios(LINE), id="pipelining"),
        pytest.param(scenarios, "requests", lambda: malformed_scenarios(LINE), id="malformed"),
        pytest.param(
            scenarios, "malformed_frames", lambda: malformed_cases(LINE), id="malformed-frames"
        ),
        pytest.param(scenarios, "requests", lambda: stall_scenarios(LINE), id="stall"),
        pytest.param(scenarios, "requests", lambda: reset_scenarios(LINE), id="reset"),
        pytest.param(scenarios, "requests", lambda: half_close_scenarios(LINE), id="half-close"),
        pytest.param(scenarios, "requests", lambda: echo_scenarios(LINE), id="echo"),
        pytest.param(scenarios, "datagrams", lambda: echo_scenarios(DATAGRAM), id="echo-datagrams"),
        pytest.param(
            datagram_builders,
            "datagram_sequences",
            lambda: datagram_reply_scenarios(DATAGRAM),
            id="datagram-reply",
        ),
        pytest.param(
            datagram_builders,
            "datagram_toxic_schedules",
            lambda: datagram_fault_scenarios(DATAGRAM, backend="embedded"),
            id="datagram-faults",
        ),
    ],
)
def test_builders_make_their_strategies_once_not_per_example(
    monkeypatch: pytest.MonkeyPatch,
    module: ModuleType,
    factory: str,
    make: Callable[[], SearchStrategy[object]],
) -> None:
    # A strategy made inside a composite is made, and validated, again for every
    # example: for malformed scenarios that was half of the time spent drawing.
    real = getattr(module, factory)
    calls: list[object] = []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, factory, counted)
    strategy = make()
    built = len(calls)

    @FAST
    @given(strategy)
    def draw(example: object) -> None:
        pass

    draw()
    assert built == 1
    assert len(calls) == built


# -- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: reassembly_scenarios(DATAGRAM), "needs a stream codec, but 'datagram'"),
        (lambda: datagram_reply_scenarios(LINE), "needs a datagram codec, but 'line'"),
        (lambda: stall_scenarios(LINE, backend="docker"), "backend must be 'embedded'"),
        (lambda: reset_scenarios(LINE, deadline=0), "deadline must be a number of seconds > 0"),
        (
            lambda: pipelining_scenarios(LINE, max_frames=1),
            "max_frames must be a whole number >= 2",
        ),
        (lambda: echo_scenarios("line"), "expected a Codec"),  # type: ignore[arg-type]
        (lambda: large_payload_scenarios(LINE, max_size=0), "max_size must be a whole number >= 1"),
    ],
)
def test_bad_arguments_are_usage_errors(make: Callable[[], object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make()
