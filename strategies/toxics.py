"""Toxic schedules: the faults a fault proxy applies for a whole scenario.

By default only *data-preserving* toxics are drawn — the bytes arrive intact,
just late, sliced or throttled — so a property comparing responses stays
valid under them. Destructive toxics (reset, limit, timeout, corrupt) are
drawn only when asked for. A schedule shrinks toward ``()``: no fault.

For the ``toxiproxy`` backend only Toxiproxy's own toxics are drawn, without
``seed`` or ``connection`` (it has neither); for ``embedded`` every toxic gets
a drawn seed, so a replay applies the very same faults.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.errors import UsageError
from wirefault.faults.toxics import (
    Bandwidth,
    Corrupt,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Split,
    Timeout,
    Toxic,
)
from wirefault.strategies._common import STREAMS, check_size, offset_tuples, seeds
from wirefault.strategies.datagrams import datagram_toxic_schedules

__all__ = ["toxic_schedules"]

#: Bounds keeping a scenario's wall time small (ms, bytes, KB/s).
MAX_LATENCY_MS = 20
MAX_JITTER_MS = 5
MIN_RATE_KBPS = 200
#: Stream offsets at which split and corrupt act (scenarios send a few hundred bytes).
MAX_OFFSET = 256

_Builder = Callable[[bool], SearchStrategy[Toxic]]


@st.composite
def _latency_toxics(draw: st.DrawFn, seed_values: SearchStrategy[int | None]) -> Toxic:
    latency = draw(st.integers(0, MAX_LATENCY_MS))
    jitter = draw(st.integers(0, min(MAX_JITTER_MS, latency)))
    return Latency(latency=latency, jitter=jitter, stream=draw(STREAMS), seed=draw(seed_values))


def _latency(seeded: bool) -> SearchStrategy[Toxic]:
    return _latency_toxics(seeds(seeded))


@st.composite
def _slicer_toxics(draw: st.DrawFn, seed_values: SearchStrategy[int | None]) -> Toxic:
    average = draw(st.integers(1, 64))
    return Slicer(
        average_size=average,
        size_variation=draw(st.integers(0, average - 1)),
        delay=draw(st.integers(0, 1000)),
        stream=draw(STREAMS),
        seed=draw(seed_values),
    )


def _slicer(seeded: bool) -> SearchStrategy[Toxic]:
    return _slicer_toxics(seeds(seeded))


def _bandwidth(seeded: bool) -> SearchStrategy[Toxic]:
    rate = st.integers(MIN_RATE_KBPS, 10 * MIN_RATE_KBPS)
    return st.builds(Bandwidth, rate=rate, stream=STREAMS, seed=seeds(seeded))


def _slow_close(seeded: bool) -> SearchStrategy[Toxic]:
    delay = st.integers(0, MAX_LATENCY_MS)
    return st.builds(SlowClose, delay=delay, stream=STREAMS, seed=seeds(seeded))


def _split(seeded: bool) -> SearchStrategy[Toxic]:
    offsets = offset_tuples(below=MAX_OFFSET).map(lambda xs: tuple(x + 1 for x in xs))
    delay = st.integers(0, 1000)
    return st.builds(Split, offsets=offsets, delay=delay, stream=STREAMS, seed=seeds(seeded))


def _reset_peer(seeded: bool) -> SearchStrategy[Toxic]:
    timeout = st.integers(0, MAX_LATENCY_MS)
    return st.builds(ResetPeer, timeout=timeout, stream=STREAMS, seed=seeds(seeded))


def _limit_data(seeded: bool) -> SearchStrategy[Toxic]:
    limit = st.integers(0, MAX_OFFSET)
    return st.builds(LimitData, bytes=limit, stream=STREAMS, seed=seeds(seeded))


def _timeout(seeded: bool) -> SearchStrategy[Toxic]:
    # 0 would mean "never close": the scenario would only end at the runner's deadline.
    timeout = st.integers(1, 100)
    return st.builds(Timeout, timeout=timeout, stream=STREAMS, seed=seeds(seeded))


def _corrupt(seeded: bool) -> SearchStrategy[Toxic]:
    offsets = offset_tuples(below=MAX_OFFSET)
    mask = st.integers(1, 255)
    return st.builds(Corrupt, offsets=offsets, mask=mask, stream=STREAMS, seed=seeds(seeded))


#: (toxic class, builder), simplest first: the order shrinking prefers.
_PRESERVING: tuple[tuple[type[Toxic], _Builder], ...] = (
    (Latency, _latency),
    (Slicer, _slicer),
    (Split, _split),
    (Bandwidth, _bandwidth),
    (SlowClose, _slow_close),
)
_DESTRUCTIVE: tuple[tuple[type[Toxic], _Builder], ...] = (
    (ResetPeer, _reset_peer),
    (LimitData, _limit_data),
    (Timeout, _timeout),
    (Corrupt, _corrupt),
)


def toxic_schedules(
    *,
    backend: str = "embedded",
    transport: str = "tcp",
    destructive: bool = False,
    max_toxics: int = 2,
) -> SearchStrategy[tuple[Toxic, ...]]:
    """Up to ``max_toxics`` toxics with distinct names, shrinking toward ``()``.

    TCP, data-preserving: latency (<= 20 ms, jitter <= 5 ms), slicer (1-64 byte
    slices), split at exact offsets (embedded only), bandwidth (>= 200 KB/s),
    slow_close. ``destructive=True`` adds reset_peer, limit_data, timeout and
    corrupt (embedded only). ``transport="udp"`` gives
    :func:`~wirefault.strategies.datagrams.datagram_toxic_schedules` (embedded only).

    Raises:
        UsageError: an unknown backend or transport, UDP with Toxiproxy, or a
            negative ``max_toxics``.

    Example::

        @given(toxic_schedules(backend="toxiproxy"))
        def test_under_faults(toxics: tuple[Toxic, ...]) -> None:
            assert all(t.seed is None for t in toxics)
    """
    check_size("toxic_schedules", "max_toxics", max_toxics)
    if backend not in ("embedded", "toxiproxy"):
        raise UsageError(
            f"toxic_schedules: backend must be 'embedded' or 'toxiproxy', got {backend!r}"
        )
    if transport not in ("tcp", "udp"):
        raise UsageError(f"toxic_schedules: transport must be 'tcp' or 'udp', got {transport!r}")
    if transport == "udp":
        if backend != "embedded":
            raise UsageError(
                "toxic_schedules: Toxiproxy is TCP only; use backend='embedded' for UDP toxics"
            )
        return datagram_toxic_schedules(destructive=destructive, max_toxics=max_toxics)
    table = _PRESERVING + (_DESTRUCTIVE if destructive else ())
    seeded = backend == "embedded"
    kinds = [build(seeded) for cls, build in table if backend in cls.backends]
    drawn = st.lists(st.one_of(kinds), max_size=max_toxics, unique_by=lambda t: t.key)
    return drawn.map(tuple)
