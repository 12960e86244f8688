"""Datagrams: edge sizes, sequences with duplicates and reorderings."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies_support import FAST, drawn, minimal, simplest

from wirefault.errors import UsageError
from wirefault.strategies import datagram_sequences, datagrams


@FAST
@given(datagrams(max_size=512))
def test_datagrams_fit_the_maximum(datagram: bytes) -> None:
    assert len(datagram) <= 512


def test_datagrams_shrink_to_empty() -> None:
    assert minimal(datagrams()) == b""


@pytest.mark.parametrize("edge", [0, 1, 65507])
def test_every_edge_size_is_drawn(edge: int) -> None:
    assert drawn(datagrams().map(len), lambda n: n == edge) == edge


@FAST
@given(datagram_sequences(min_size=2, max_size=5))
def test_sequences_respect_their_bounds(sequence: tuple[bytes, ...]) -> None:
    assert 2 <= len(sequence) <= 5


def test_sequences_shrink_to_one_empty_datagram() -> None:
    assert simplest(datagram_sequences()) == (b"",)


def test_sequences_hold_duplicates() -> None:
    found = drawn(datagram_sequences(), lambda s: len(set(s)) < len(s) and any(s))
    assert len(set(found)) < len(found)


def test_sequences_hold_reorderings_of_distinct_datagrams() -> None:
    found = minimal(
        datagram_sequences(max_datagram=1),
        lambda s: len(s) == 2 and len(set(s)) == 2 and s[0] > s[1],
    )
    assert found == (b"\x00", b"")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: datagrams(max_size=-1), "max_size must be a whole number >= 0, got -1"),
        (lambda: datagram_sequences(min_size=4, max_size=2), "min_size=4 is larger"),
        (lambda: datagram_sequences(max_datagram=-5), "max_datagram must be a whole number"),
    ],
)
def test_bad_arguments_are_usage_errors(make: object, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make()  # type: ignore[operator]
