"""Scenario builders: one per property, each producing exactly the shape its judge reads.

Connection numbers are part of the contract (``n`` = number of request frames):

=========================  ===================================================================
builder                    steps
=========================  ===================================================================
reassembly_scenarios       c0 sends all frames whole, expects n, closes; c1 sends them in
                           drawn chunks (each read by the server before the next, or a
                           drawn pause apart), expects n, closes; toxics if a backend,
                           and then c0 opens direct (past the proxy: only c1 is faulted)
pipelining_scenarios       c0 sends and expects each frame in turn, closes; c1 sends all in
                           one write, expects n, closes
malformed_scenarios        c0 [sends k valid frames, expects k], sends the malformed frame,
                           [half-closes if unfinished], expects 1, closes; c1 probes
stall_scenarios            mid-request: c0 sends a frame prefix; c1 probes; c0 aborts.
                           no-read: c0 opens with rcvbuf=4096 and sends >= 2 MiB of frames;
                           c1 probes; c0 aborts
reset_scenarios            c0..c(r-1) each send a prefix of the frames and abort; cr probes
half_close_scenarios       c0 sends and expects n frames whole, closes (the baseline); c1 sends
                           them in chunks, half-closes once the server has read them all (or
                           at once, right behind the last bytes), reads until closed
large_payload_scenarios    c0 sends one big frame, expects 1 (fast reader), closes; c1 with
                           rcvbuf=8192 sends it, expects 1 reading 8 KiB every 0.5 ms, closes
echo_scenarios             c0 sends frames (chunked, or one datagram each), expects n, closes
datagram_reply_scenarios   per datagram: its client (c0 or c1) sends it and expects 1; closes
datagram_size_scenarios    c0 sends 1-3 edge-size datagrams, pause, closes; c1 probes
datagram_fault_scenarios   toxics (embedded); c0 sends k datagrams, pause, closes; c1 probes
=========================  ===================================================================

"c probes" means: sends the probe request (``probe=``, default ``codec.probe()``),
expects one response, closes. Probes go to a fresh connection so they show
whether the server still serves others. Every builder takes ``backend`` (None,
``embedded``, ``toxiproxy``) and ``deadline`` (the runner's, in seconds); the
UDP builders live in :mod:`wirefault.strategies._datagram_scenarios`. The stream
builders also take ``samples``: whole requests of the codec (``--requests``) that
their requests are drawn from as well (:func:`~wirefault.strategies.frames.requests`,
:func:`~wirefault.strategies.malformed.malformed_frames`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.faults.toxics import Toxic
from wirefault.scenario import Abort, Close, Expect, HalfClose, Open, Scenario, Send, Step
from wirefault.strategies._common import (
    FILL_ALPHABET,
    SPREAD_POINTS,
    check_backend,
    check_codec,
    check_samples,
    check_seconds,
    check_size,
    check_transport,
    probe_request,
    repeat_to,
    spread,
)
from wirefault.strategies._datagram_scenarios import (
    datagram_fault_scenarios,
    datagram_reply_scenarios,
    datagram_size_scenarios,
)
from wirefault.strategies.chunking import _draw_chunking
from wirefault.strategies.connections import (
    _abort_edges,
    _draw_abort_point,
    aborted_after,
    exchange,
    half_close,
    probe_steps,
)
from wirefault.strategies.datagrams import datagrams
from wirefault.strategies.frames import Requests, requests
from wirefault.strategies.malformed import MalformedFrame, malformed_frames
from wirefault.strategies.payloads import large_payloads, payloads
from wirefault.strategies.timing import pauses
from wirefault.strategies.toxics import toxic_schedules

__all__ = [
    "datagram_fault_scenarios",
    "datagram_reply_scenarios",
    "datagram_size_scenarios",
    "echo_scenarios",
    "half_close_scenarios",
    "large_payload_scenarios",
    "malformed_cases",
    "malformed_scenarios",
    "pipelining_scenarios",
    "reassembly_scenarios",
    "reset_scenarios",
    "stall_scenarios",
]

#: The no-read stall: the silent client's receive buffer and how much it sends.
NO_READ_RCVBUF = 4096
NO_READ_BYTES = 2 * 1024 * 1024
#: Size of each frame of the no-read stall (capped by the codec's max_frame).
NO_READ_FRAME = 64 * 1024
#: The slow reader of large_payload_scenarios.
SLOW_RCVBUF = 8192
SLOW_RECV_SIZE = 8192
SLOW_READ_PAUSE = 0.0005


def _stream(where: str, codec: Codec, backend: str | None, deadline: float) -> None:
    check_transport(where, codec, "stream", "the datagram_*_scenarios builders")
    check_backend(where, backend)
    check_seconds(where, "deadline", deadline, positive=True)


def _min_payload(codec: Codec) -> int:
    # An unframed codec's empty payload is no bytes at all: nothing to answer.
    return 0 if codec.framed else 1


#: The least pause between a reassembly scenario's chunks: without one, writes made
#: back to back coalesce in the kernel and the server never sees the split at all.
#: Slept only for a server the runner cannot see; one on this machine gets each chunk
#: as soon as it has read the previous one (wirefault.pacing).
SPLIT_PAUSE = 0.001


def _pause_budget(chunks: int, deadline: float) -> float:
    # All pauses of one Send together stay around 0.1 s (and well under the deadline).
    return min(0.02, max(SPLIT_PAUSE, 0.1 / max(chunks - 1, 1)), deadline / 10)


@functools.lru_cache(maxsize=256)
def _split_pauses(budget: float) -> SearchStrategy[float]:
    # Memoised: a strategy built afresh for every example is validated afresh too. Keyed
    # by the budget, not the chunk count: past 101 chunks every count has the same
    # budget, so a campaign needs about a hundred of these whatever its payload sizes.
    return pauses(max_pause=budget, min_pause=SPLIT_PAUSE)


# -- stream properties -----------------------------------------------------------------------

# Each public builder makes the strategies that depend only on its arguments (requests,
# malformed frames, toxic schedules) and hands them to its composite: a strategy made
# inside a composite is made, and validated, again for every example drawn.


@st.composite
def _reassembly(
    draw: st.DrawFn,
    requested: SearchStrategy[Requests],
    schedules: SearchStrategy[tuple[Toxic, ...]] | None,
    deadline: float,
) -> Scenario:
    reqs = draw(requested)
    chunks = _draw_chunking(draw, reqs.data, reqs.boundaries)
    pause = draw(_split_pauses(_pause_budget(len(chunks), deadline))) if len(chunks) > 1 else 0
    toxics = draw(schedules) if schedules is not None else ()
    n = len(reqs)
    # Under toxics the baseline goes past the proxy, so that it is sent whole indeed.
    baseline = (Open(conn=0, direct=True),) if toxics else ()
    steps = (
        *baseline,
        *exchange(0, (reqs.data,), count=n),
        Close(conn=0),
        *exchange(1, chunks, count=n, pause=pause),
        Close(conn=1),
    )
    return Scenario(steps=steps, toxics=toxics)


def reassembly_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    max_frames: int = 4,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """Requests sent whole on c0 and in drawn chunks on c1 (see the module table).

    With a ``backend``, data-preserving toxics are drawn too, and c0 then opens
    direct, past the fault proxy: the requests "sent whole" reach the server whole,
    and only c1 is re-cut and delayed by the toxics. (Through the proxy, a slicer or
    latency toxic would re-cut c0 too, and how many reads the server made of the
    baseline would vary from play to play.) Shrinks toward one frame in one chunk,
    no toxic.

    Example::

        @given(reassembly_scenarios(get_codec("line")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.connections() == [0, 1]
    """
    _stream("reassembly_scenarios", codec, backend, deadline)
    check_size("reassembly_scenarios", "max_frames", max_frames, minimum=1)
    requested = requests(
        codec, max_frames=max_frames, min_payload=_min_payload(codec), samples=samples
    )
    schedules = toxic_schedules(backend=backend) if backend is not None else None
    return _reassembly(requested, schedules, deadline)


def _pipelined(reqs: Requests) -> Scenario:
    steps: list[Step] = []
    for frame in reqs.wire:
        steps.extend(exchange(0, (frame,), count=1))
    steps.append(Close(conn=0))
    steps.extend((*exchange(1, (reqs.data,), count=len(reqs)), Close(conn=1)))
    return Scenario(steps=tuple(steps))


def pipelining_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    max_frames: int = 4,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """Two to ``max_frames`` requests one by one on c0, all in one write on c1.

    Example::

        @given(pipelining_scenarios(get_codec("resp")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.steps[-1] == Close(conn=1)
    """
    _stream("pipelining_scenarios", codec, backend, deadline)
    check_size("pipelining_scenarios", "max_frames", max_frames, minimum=2)
    requested = requests(
        codec,
        min_frames=2,
        max_frames=max_frames,
        min_payload=_min_payload(codec),
        samples=samples,
    )
    return requested.map(_pipelined)


@st.composite
def _malformed_case(
    draw: st.DrawFn,
    frames: SearchStrategy[MalformedFrame],
    requested: SearchStrategy[Requests],
    probe: bytes,
) -> tuple[MalformedFrame, Scenario]:
    bad = draw(frames)
    valid = draw(requested)
    steps: list[Step] = []
    if valid.wire:
        steps.extend(exchange(0, (valid.data,), count=len(valid)))
    # The kind and the step that sends it, for the judge's words (see Scenario.meta).
    meta = (("malformed", bad.kind), ("malformed_step", str(len(steps))))
    steps.append(Send(conn=0, chunks=(bad.data,)))
    if not bad.complete:
        steps.append(HalfClose(conn=0))
    steps.extend((Expect(conn=0, count=1), Close(conn=0), *probe_steps(1, probe)))
    return bad, Scenario(steps=tuple(steps), meta=meta)


def _malformed(
    codec: Codec, probe: bytes, samples: Sequence[bytes]
) -> SearchStrategy[tuple[MalformedFrame, Scenario]]:
    valid = requests(
        codec, min_frames=0, max_frames=2, min_payload=_min_payload(codec), samples=samples
    )
    return _malformed_case(malformed_frames(codec, samples=samples), valid, probe)


def malformed_cases(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    probe: bytes | None = None,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[tuple[MalformedFrame, Scenario]]:
    """A malformed frame and the scenario that sends it, so its ``kind`` is at hand.

    Example::

        @given(malformed_cases(get_codec("http")))
        def test_kinds(case: tuple[MalformedFrame, Scenario]) -> None:
            bad, scenario = case
            assert any(isinstance(s, Send) and s.chunks == (bad.data,) for s in scenario.steps)
    """
    _stream("malformed_cases", codec, backend, deadline)
    return _malformed(codec, probe_request(codec, probe), samples)


def malformed_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    probe: bytes | None = None,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """c0 sends 0-2 valid frames then a malformed one; c1 probes (see the module table).

    Shrinks toward no valid frame and the codec's first, smallest malformation.

    Example::

        @given(malformed_scenarios(get_codec("lenprefix")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.connections() == [0, 1]
    """
    _stream("malformed_scenarios", codec, backend, deadline)
    return _malformed(codec, probe_request(codec, probe), samples).map(lambda case: case[1])


#: The two stalls, the mid-request one first (the shrink target).
_STALL_KINDS = st.sampled_from(("mid-request", "no-read"))


@st.composite
def _big_frame(
    draw: st.DrawFn, codec: Codec, fills: SearchStrategy[bytes], shapes: tuple[bytes, ...] = ()
) -> bytes:
    cap = min(codec.max_frame, NO_READ_FRAME)
    size = cap - draw(st.integers(0, min(15, cap)))
    payload = repeat_to(draw(fills), size)
    if shapes:  # in a sample's frame: its head (type, id) kept
        return codec.reframe(draw(st.sampled_from(shapes)), payload)
    return codec.encode(payload)


@st.composite
def _stall(
    draw: st.DrawFn,
    requested: SearchStrategy[Requests],
    big_frames: SearchStrategy[bytes],
    no_read_bytes: int,
) -> Scenario:
    kind = draw(_STALL_KINDS)
    frame = draw(requested).wire[0]
    served = probe_steps(1, frame)
    if kind == "mid-request":
        # 1..len - 1 bytes, as a point scaled onto the frame: no strategy per frame length.
        prefix = frame[: 1 + spread(draw(SPREAD_POINTS), max(1, len(frame) - 1))]
        steps: tuple[Step, ...] = (Send(conn=0, chunks=(prefix,)), *served)
    else:
        big = draw(big_frames)
        flood = big * -(-no_read_bytes // len(big))
        steps = (Open(conn=0, rcvbuf=NO_READ_RCVBUF), Send(conn=0, chunks=(flood,)), *served)
    return Scenario(steps=(*steps, Abort(conn=0)))


def stall_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    no_read_bytes: int = NO_READ_BYTES,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """c0 stalls (mid-request, or sending ``no_read_bytes`` without reading); c1 is served.

    The no-read flood is big frames (up to 64 KiB, or the codec's maximum: long
    lines for line codecs) repeated to at least ``no_read_bytes``; the runner
    sends it with its deadline and records a short send. With ``samples`` the
    stalled and served request is a sample as it is. Shrinks toward the
    mid-request stall after one byte.

    Example::

        @given(stall_scenarios(get_codec("line")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.steps[-1] == Abort(conn=0)
    """
    _stream("stall_scenarios", codec, backend, deadline)
    check_size("stall_scenarios", "no_read_bytes", no_read_bytes, minimum=1)
    if samples:
        # The stalled request and the one that must be served meanwhile: a sample as it
        # is, which the server is known to answer, so a refusal is never blamed on the stall.
        checked = check_samples("stall_scenarios", samples)
        requested = st.sampled_from(checked).map(lambda s: Requests((s,), (s,)))
    else:
        requested = requests(codec, min_frames=1, max_frames=1, min_payload=2)
    fills = payloads(min_size=1, max_size=8, alphabet=FILL_ALPHABET)
    shapes = tuple(s for s in samples if codec.payload_of(s) is not None)
    return _stall(requested, _big_frame(codec, fills, shapes), no_read_bytes)


@st.composite
def _reset(
    draw: st.DrawFn, requested: SearchStrategy[Requests], probe: bytes, max_clients: int
) -> Scenario:
    reqs = draw(requested)
    clients = draw(st.integers(1, max_clients))
    size = len(reqs.data)
    edges = _abort_edges(size, reqs.boundaries)
    steps: list[Step] = []
    for conn in range(clients):
        cut = _draw_abort_point(draw, size, edges)
        steps.extend(aborted_after(conn, reqs.data[:cut]))
    steps.extend(probe_steps(clients, probe))
    return Scenario(steps=tuple(steps))


def reset_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    probe: bytes | None = None,
    max_clients: int = 8,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """1 to ``max_clients`` clients send a prefix of the frames and reset; the next probes.

    Cuts fall anywhere, including 0 (nothing sent), the whole data and frame
    boundaries. Shrinks toward one client resetting before sending anything.

    Example::

        @given(reset_scenarios(get_codec("http")))
        def test_shape(scenario: Scenario) -> None:
            assert isinstance(scenario.steps[1], Abort)
    """
    _stream("reset_scenarios", codec, backend, deadline)
    check_size("reset_scenarios", "max_clients", max_clients, minimum=1)
    requested = requests(codec, min_payload=_min_payload(codec), samples=samples)
    return _reset(requested, probe_request(codec, probe), max_clients)


@st.composite
def _half_close(draw: st.DrawFn, requested: SearchStrategy[Requests]) -> Scenario:
    reqs = draw(requested)
    chunks = _draw_chunking(draw, reqs.data, reqs.boundaries)
    # c0 is the baseline: how many replies these requests get without a half-close
    # (a one-request-per-connection server answers one, then closes, and is right to).
    baseline = (*exchange(0, (reqs.data,), count=len(reqs.wire)), Close(conn=0))
    # Two ways to shut down, both deterministic where the server can be seen: once it has
    # read everything (the shrink target), or at once, the EOF right behind the last bytes
    # (a server that acts on the EOF before answering what it read with it drops replies).
    at_once = draw(st.booleans())
    return Scenario(steps=(*baseline, *half_close(1, chunks, at_once=at_once)))


def half_close_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    max_frames: int = 4,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """c0 sends frames and reads replies; c1 sends the same in chunks, half-closes, reads to EOF.

    Example::

        @given(half_close_scenarios(get_codec("line")))
        def test_shape(scenario: Scenario) -> None:
            assert [s.op for s in scenario.steps] == [
                "send", "expect", "close", "send", "half_close", "expect_close"
            ]
    """
    _stream("half_close_scenarios", codec, backend, deadline)
    check_size("half_close_scenarios", "max_frames", max_frames, minimum=1)
    return _half_close(
        requests(codec, max_frames=max_frames, min_payload=_min_payload(codec), samples=samples)
    )


def _large(codec: Codec, payload: bytes, shape: bytes | None = None) -> Scenario:
    wire = codec.encode(payload) if shape is None else codec.reframe(shape, payload)
    return Scenario(
        steps=(
            *exchange(0, (wire,), count=1),
            Close(conn=0),
            Open(conn=1, rcvbuf=SLOW_RCVBUF),
            Send(conn=1, chunks=(wire,)),
            Expect(conn=1, count=1, recv_size=SLOW_RECV_SIZE, read_pause=SLOW_READ_PAUSE),
            Close(conn=1),
        )
    )


def large_payload_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    max_size: int = 1 << 20,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """One frame of up to ``codec.max_frame`` bytes (at most ``max_size``) read fast, then slowly.

    Sizes come from :func:`~wirefault.strategies.payloads.large_payloads`: the edges 0, 1,
    max - 1, max, and anything between. Payloads are letters: the property is
    about size, and a codec that splits on some bytes (RESP arguments on spaces)
    would turn binary fill into up to six times more wire bytes. Shrinks toward
    the smallest payload. With ``samples`` the frame is one of theirs carrying the
    big payload (:meth:`~wirefault.codecs.base.Codec.reframe`), when the codec can
    tell their payload.

    Example::

        @given(large_payload_scenarios(get_codec("lenprefix")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.steps[3] == Open(conn=1, rcvbuf=8192)
    """
    _stream("large_payload_scenarios", codec, backend, deadline)
    check_size("large_payload_scenarios", "max_size", max_size, minimum=1)
    cap = min(codec.max_frame, max_size)
    sizes = large_payloads(
        min_size=min(_min_payload(codec), cap), max_size=cap, alphabet=FILL_ALPHABET
    )
    checked = check_samples("large_payload_scenarios", samples)
    shapes = [s for s in checked if codec.payload_of(s) is not None]
    if shapes:
        shaped = st.tuples(sizes, st.sampled_from(shapes))
        return shaped.map(lambda ps: _large(codec, ps[0], ps[1]))
    return sizes.map(lambda payload: _large(codec, payload))


def _echo_datagrams(codec: Codec, sent: list[bytes]) -> Scenario:
    chunks = tuple(codec.encode(d) for d in sent)
    return Scenario(steps=(*exchange(0, chunks, count=len(chunks)), Close(conn=0)))


@st.composite
def _echo_stream(draw: st.DrawFn, requested: SearchStrategy[Requests]) -> Scenario:
    reqs = draw(requested)
    chunks = _draw_chunking(draw, reqs.data, reqs.boundaries)
    return Scenario(steps=(*exchange(0, chunks, count=len(reqs)), Close(conn=0)))


def echo_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    max_frames: int = 4,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """c0 sends frames (in drawn chunks; for UDP one datagram each, any size), expects n, closes.

    Example::

        @given(echo_scenarios(get_codec("datagram")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.connections() == [0]
    """
    check_codec("echo_scenarios", codec)
    check_backend("echo_scenarios", backend)
    check_seconds("echo_scenarios", "deadline", deadline, positive=True)
    check_size("echo_scenarios", "max_frames", max_frames, minimum=1)
    if codec.transport == "datagram":
        # One datagram per frame, sizes up to the maximum: a short receive buffer
        # truncates only datagrams longer than it.
        sizes = st.lists(datagrams(max_size=codec.max_frame), min_size=1, max_size=max_frames)
        return sizes.map(lambda sent: _echo_datagrams(codec, sent))
    requested = requests(
        codec, max_frames=max_frames, min_payload=_min_payload(codec), samples=samples
    )
    return _echo_stream(requested)
