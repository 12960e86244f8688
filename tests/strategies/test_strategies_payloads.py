"""Payloads: sizes in bounds, alphabets honoured, large sizes at the edges, cheap to build."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from strategies_support import FAST, drawn, minimal, simplest

from wirefault.errors import UsageError
from wirefault.strategies import large_payloads, payloads


@FAST
@given(payloads(min_size=2, max_size=9))
def test_payload_sizes_stay_in_bounds(payload: bytes) -> None:
    assert 2 <= len(payload) <= 9


@FAST
@given(payloads(max_size=32, alphabet=b"xy"))
def test_payloads_use_only_the_alphabet(payload: bytes) -> None:
    assert set(payload) <= set(b"xy")


def test_payloads_shrink_to_empty() -> None:
    assert minimal(payloads()) == b""


def test_payloads_with_an_alphabet_shrink_to_its_first_byte() -> None:
    assert simplest(payloads(min_size=3, alphabet=b"zyz")) == b"zzz"


@FAST
@given(large_payloads(max_size=1 << 20))
def test_large_payloads_stay_in_bounds(payload: bytes) -> None:
    assert len(payload) <= 1 << 20


@pytest.mark.parametrize("size", [0, 1, 999, 1000])
def test_large_payloads_reach_every_edge(size: int) -> None:
    assert len(drawn(large_payloads(max_size=1000), lambda p: len(p) == size)) == size


def test_large_payloads_shrink_to_the_minimum_size() -> None:
    assert simplest(large_payloads(max_size=1 << 20, min_size=5)) == b"\x00" * 5


def test_a_megabyte_payload_shrinks_to_one_byte_repeated() -> None:
    # Summarised so Hypothesis does not print a megabyte.
    summary = large_payloads(max_size=1 << 20, alphabet=b"ab").map(lambda p: (len(p), set(p)))
    assert minimal(summary, lambda s: s[0] == 1 << 20) == (1 << 20, {ord("a")})


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: payloads(min_size=-1), "min_size must be a whole number >= 0"),
        (lambda: payloads(min_size=5, max_size=4), "min_size=5 is larger than max_size=4"),
        (lambda: payloads(alphabet=b""), "alphabet must be non-empty bytes"),
        (lambda: large_payloads(max_size=-3), "max_size must be a whole number >= 0, got -3"),
        (lambda: large_payloads(max_size=3, alphabet=b""), "alphabet must be non-empty"),
    ],
)
def test_bad_arguments_are_usage_errors_that_echo_the_value(
    factory: Callable[[], object], match: str
) -> None:
    with pytest.raises(UsageError, match=match):
        factory()
