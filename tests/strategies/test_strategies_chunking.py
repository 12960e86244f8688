"""Chunkings: every plan joins back to the data, respects its bounds and shrinks to one chunk."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies_support import FAST, drawn, minimal

from wirefault.errors import UsageError
from wirefault.strategies import byte_at_a_time, chunkings, coalesced, cut_at
from wirefault.strategies._common import SPREAD_BITS, spread
from wirefault.strategies.chunking import _draw_chunking

DATA = b"PING\r\nPING\r\nECHO hello\r\n"


@FAST
@given(st.binary(max_size=80).flatmap(lambda d: st.tuples(st.just(d), chunkings(d))))
def test_chunks_join_back_to_the_data(case: tuple[bytes, tuple[bytes, ...]]) -> None:
    data, chunks = case
    assert b"".join(chunks) == data


@FAST
@given(st.data())
def test_equal_lengths_are_cut_in_their_own_bytes(data: st.DataObject) -> None:
    # Cut plans are shared between data of one length (they are built once); the
    # chunks must still be of the data asked for.
    size = data.draw(st.integers(2, 40))
    first, second = b"a" * size, b"b" * size
    assert b"".join(data.draw(chunkings(first, boundaries=(1,)))) == first
    assert b"".join(data.draw(chunkings(second, boundaries=(1,)))) == second


@st.composite
def _cut_in_place(draw: st.DrawFn, data: bytes, boundaries: tuple[int, ...]) -> tuple[bytes, ...]:
    return _draw_chunking(draw, data, boundaries)


@pytest.mark.parametrize(
    "condition",
    [
        lambda c: True,
        lambda c: len(c) == 2,
        lambda c: len(c) == 3 and len(c[1]) == 1,
        lambda c: len(c[0]) == 6,
        lambda c: len(c) == len(DATA),
    ],
    ids=["one-chunk", "two", "lone-byte", "at-boundary", "byte-at-a-time"],
)
def test_scenario_builders_cut_in_place_as_chunkings_does(
    condition: Callable[[tuple[bytes, ...]], bool],
) -> None:
    # Scenario composites cut with the caller's draw (no strategy built per example);
    # the plans, and where they shrink to, are those of chunkings(). Both searches are
    # derandomized (minimal's default), so each starts from the same choices: a random
    # start may stop in another local minimum (it did in CI for "lone-byte").
    expected = minimal(chunkings(DATA, boundaries=(6, 12)), condition)
    assert minimal(_cut_in_place(DATA, (6, 12)), condition) == expected


@FAST
@given(chunkings(DATA))
def test_chunks_are_never_empty(chunks: tuple[bytes, ...]) -> None:
    assert all(chunks)


@FAST
@given(chunkings(DATA, max_chunks=3))
def test_max_chunks_is_respected(chunks: tuple[bytes, ...]) -> None:
    assert 1 <= len(chunks) <= 3


def test_a_chunking_shrinks_to_one_chunk() -> None:
    assert minimal(chunkings(DATA, boundaries=(6, 12))) == (DATA,)


def test_the_smallest_two_way_split_cuts_after_the_first_byte() -> None:
    assert minimal(chunkings(DATA), lambda c: len(c) == 2) == (DATA[:1], DATA[1:])


@pytest.mark.parametrize("cut", [5, 6, 7])
def test_frame_boundaries_are_cut_at_and_next_to(cut: int) -> None:
    found = drawn(chunkings(DATA, boundaries=(6,)), lambda c: len(c) == 2 and len(c[0]) == cut)
    assert found == (DATA[:cut], DATA[cut:])


def test_a_single_byte_can_be_isolated() -> None:
    found = minimal(chunkings(DATA), lambda c: len(c) == 3 and len(c[1]) == 1)
    assert found == (DATA[:1], DATA[1:2], DATA[2:])


def test_byte_at_a_time_is_drawn() -> None:
    assert minimal(chunkings(DATA), lambda c: len(c) == len(DATA)) == byte_at_a_time(DATA)


def test_empty_and_one_byte_data_have_one_plan() -> None:
    assert minimal(chunkings(b"")) == (b"",)
    assert minimal(chunkings(b"x")) == (b"x",)


@pytest.mark.parametrize("count", [1, 2, 3, 1000, 2**24 - 1, 2**24])
def test_cut_points_reach_every_position_of_data_up_to_16_mib(count: int) -> None:
    # Cuts are points of a fixed range scaled onto the data's positions (0..count - 1):
    # the range's ends give the data's ends, and the least point giving each position
    # follows one giving the position before it (so none is skipped, up to 2**24).
    def point(n: int) -> bytes:
        return n.to_bytes(SPREAD_BITS // 8, "big")

    top = (1 << SPREAD_BITS) - 1
    assert (spread(point(0), count), spread(point(top), count)) == (0, count - 1)
    for position in {1, 2, count // 3, count // 2, count - 2, count - 1}:
        if not 0 < position < count:
            continue
        least = -(-(position << SPREAD_BITS) // count)  # the least point giving it
        assert spread(point(least), count) == position
        assert spread(point(least - 1), count) == position - 1


def test_coalesced_joins_frames_into_one_write() -> None:
    assert coalesced((b"a\n", b"b\n")) == (b"a\nb\n",)


def test_byte_at_a_time_splits_every_byte() -> None:
    assert byte_at_a_time(b"ab\n") == (b"a", b"b", b"\n")
    assert byte_at_a_time(b"") == ()


def test_cut_at_sorts_deduplicates_and_ignores_the_ends() -> None:
    assert cut_at(b"abcd", [3, 1, 1, 0, 4]) == (b"a", b"bc", b"d")
    assert cut_at(b"abcd", []) == (b"abcd",)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_chunks": 0}, "max_chunks must be a whole number >= 1, got 0"),
        ({"boundaries": (-1,)}, "boundaries must be a whole number >= 0, got -1"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        chunkings(DATA, **kwargs)  # type: ignore[arg-type]
