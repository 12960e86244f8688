"""Datagrams: edge sizes, sequences with duplicates and reorderings, and UDP toxics.

UDP has no stream to cut; its hazards are sizes (an empty datagram, one byte,
the 65,507-byte maximum) and what the network does to a sequence: lose,
duplicate, delay, reorder or truncate datagrams. Everything shrinks toward
the plain case: a short datagram, sent once, in order, with no toxic.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.faults.toxics import Corrupt, Delay, Drop, Duplicate, Reorder, Toxic, Truncate
from wirefault.strategies._common import (
    STREAMS,
    check_range,
    check_size,
    offset_tuples,
    seeds,
)
from wirefault.strategies.payloads import large_payloads, payloads

__all__ = ["datagram_sequences", "datagram_toxic_schedules", "datagrams"]

#: The largest UDP payload over IPv4: 65,535 - 8 (UDP header) - 20 (IP header).
MAX_UDP_PAYLOAD = 65507
#: Longest a datagram toxic holds a datagram, in ms (scenarios pause 50 ms at the end).
MAX_HOLD_MS = 30


def datagrams(*, max_size: int = MAX_UDP_PAYLOAD, max_random: int = 64) -> SearchStrategy[bytes]:
    """One datagram: small random bytes, or any size up to ``max_size``, edges favoured.

    The sized branch is :func:`~wirefault.strategies.payloads.large_payloads`: 0, 1,
    max - 1 and ``max_size`` bytes are drawn often, any size in between too
    (a drawn pattern repeated, so 65 KB costs a few choices). Shrinks toward ``b""``.

    Args:
        max_size: the largest datagram (the codec's ``max_frame``).
        max_random: longest of the randomly filled datagrams.

    Raises:
        UsageError: a negative size.

    Example::

        @given(datagrams(max_size=512))
        def test_sizes(d: bytes) -> None:
            assert len(d) <= 512
    """
    check_size("datagrams", "max_size", max_size)
    check_size("datagrams", "max_random", max_random)
    return st.one_of(
        payloads(max_size=min(max_random, max_size)), large_payloads(max_size=max_size)
    )


@functools.lru_cache(maxsize=256)
def _orders(count: int, min_size: int, max_size: int) -> SearchStrategy[list[int]]:
    # Memoised (a handful of counts recur): built afresh for every sequence, this
    # strategy's validation cost more than drawing from it.
    identity = list(range(count))
    # In order first (the shrink target), then a permutation built directly, then
    # indices drawn with repetition: duplicates, gaps and reorderings at once.
    return st.one_of(
        st.just(identity),
        st.permutations(identity),
        st.lists(st.integers(0, count - 1), min_size=max(min_size, 1), max_size=max_size),
    )


@st.composite
def _sequence(
    draw: st.DrawFn, bases: SearchStrategy[list[bytes]], min_size: int, max_size: int
) -> tuple[bytes, ...]:
    base = draw(bases)
    if not base:
        return ()
    order = draw(_orders(len(base), min_size, max_size))
    return tuple(base[i] for i in order)


def datagram_sequences(
    *, min_size: int = 1, max_size: int = 6, max_datagram: int = 64
) -> SearchStrategy[tuple[bytes, ...]]:
    """Sequences of datagrams, in order, permuted, or with some repeated.

    Distinct datagrams are drawn first, then the order they are sent in: as
    drawn, a permutation, or indices with repetition. Shrinks toward
    ``min_size`` empty datagrams in order.

    Raises:
        UsageError: negative sizes or ``min_size > max_size``.

    Example::

        @given(datagram_sequences(max_size=4))
        def test_replies(seq: tuple[bytes, ...]) -> None:
            assert 1 <= len(seq) <= 4
    """
    check_range("datagram_sequences", "min_size", min_size, "max_size", max_size)
    check_size("datagram_sequences", "max_datagram", max_datagram)
    bases = st.lists(payloads(max_size=max_datagram), min_size=min_size, max_size=max_size)
    return _sequence(bases, min_size, max_size)


def _indices(max_index: int) -> SearchStrategy[tuple[int, ...] | None]:
    # Every datagram (None: the fewest choices, so the shrink target) or a few chosen ones.
    return st.one_of(st.none(), offset_tuples(below=max_index))


def _preserving(max_index: int) -> list[SearchStrategy[Toxic]]:
    common = {"stream": STREAMS, "seed": seeds(True), "indices": _indices(max_index)}
    return [
        st.builds(Duplicate, copies=st.integers(1, 2), **common),
        st.builds(
            Reorder,
            window=st.integers(2, 4),
            flush=st.integers(5, MAX_HOLD_MS),
            stream=STREAMS,
            seed=seeds(True),
        ),
        st.builds(Delay, delay=st.integers(1, MAX_HOLD_MS), **common),
    ]


def _destructive(max_index: int) -> list[SearchStrategy[Toxic]]:
    common = {"stream": STREAMS, "seed": seeds(True), "indices": _indices(max_index)}
    return [
        st.builds(Drop, **common),
        st.builds(Truncate, size=st.integers(0, 32), **common),
        st.builds(Corrupt, offsets=offset_tuples(below=32), mask=st.integers(1, 255), **common),
    ]


def datagram_toxic_schedules(
    *, destructive: bool = False, max_toxics: int = 2, max_index: int = 8
) -> SearchStrategy[tuple[Toxic, ...]]:
    """UDP toxics for the embedded backend, shrinking toward ``()``.

    Data-preserving by default: duplicate, reorder and delay (holding a
    datagram at most 30 ms). ``destructive=True`` adds drop, truncate and
    corrupt. Toxics that pick datagrams choose them by index (per client flow,
    from 0, below ``max_index``) or take every datagram; every toxic has a
    drawn seed, and no two share a name.

    Raises:
        UsageError: a negative ``max_toxics`` or ``max_index`` < 1.

    Example::

        @given(datagram_toxic_schedules(max_toxics=1))
        def test_faults(toxics: tuple[Toxic, ...]) -> None:
            assert all("udp" in t.transports for t in toxics)
    """
    check_size("datagram_toxic_schedules", "max_toxics", max_toxics)
    check_size("datagram_toxic_schedules", "max_index", max_index, minimum=1)
    kinds = _preserving(max_index) + (_destructive(max_index) if destructive else [])
    drawn = st.lists(st.one_of(kinds), max_size=max_toxics, unique_by=lambda t: t.key)
    return drawn.map(tuple)
