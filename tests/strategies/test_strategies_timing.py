"""Pauses and stalls, abort points and the step builders of connections."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies_support import FAST, minimal

from wirefault.errors import UsageError
from wirefault.scenario import Abort, Close, Expect, ExpectClose, HalfClose, Send
from wirefault.strategies import (
    abort_points,
    aborted_after,
    exchange,
    half_close,
    pauses,
    probe_steps,
    stalls,
)


@FAST
@given(pauses(max_pause=0.005))
def test_pauses_stay_under_the_maximum(pause: float) -> None:
    assert 0.0 <= pause <= 0.005


def test_pauses_shrink_to_zero() -> None:
    assert minimal(pauses()) == 0.0


def test_an_off_ladder_maximum_is_drawn_too() -> None:
    assert minimal(pauses(max_pause=0.003), lambda p: p > 0.001) == 0.003


def test_a_zero_maximum_means_no_pause() -> None:
    assert minimal(pauses(max_pause=0.0), lambda p: True) == 0.0


@FAST
@given(stalls(deadline=0.2))
def test_stalls_outlast_the_deadline(seconds: float) -> None:
    assert seconds > 0.2


def test_stalls_shrink_to_the_shortest() -> None:
    assert minimal(stalls(deadline=2.0)) == 3.0


@FAST
@given(abort_points(b"PING\r\n", boundaries=(3,)))
def test_abort_points_are_positions_in_the_data(position: int) -> None:
    assert 0 <= position <= 6


def test_abort_points_shrink_to_nothing_sent() -> None:
    assert minimal(abort_points(b"PING\r\n")) == 0


def test_abort_points_walk_down_to_the_least_position_past_a_threshold() -> None:
    # Positions are points scaled onto the data: shrinking still finds the exact one.
    assert minimal(abort_points(b"PING\r\n!", boundaries=(3,)), lambda p: p > 6) == 7
    assert minimal(abort_points(bytes(100_000)), lambda p: p > 54_321) == 54_322


@pytest.mark.parametrize("at", [6, 2, 3, 4])
def test_abort_points_reach_the_end_and_next_to_boundaries(at: int) -> None:
    assert minimal(abort_points(b"PING\r\n", boundaries=(3,)), lambda p: p == at) == at


def test_exchange_sends_then_expects() -> None:
    assert exchange(2, (b"a", b"b"), count=2, pause=0.001) == (
        Send(conn=2, chunks=(b"a", b"b"), pause=0.001),
        Expect(conn=2, count=2),
    )


def test_probe_steps_send_expect_one_and_close() -> None:
    assert probe_steps(1, b"PING\r\n") == (
        Send(conn=1, chunks=(b"PING\r\n",)),
        Expect(conn=1, count=1),
        Close(conn=1),
    )


def test_aborted_after_sends_then_resets() -> None:
    assert aborted_after(0, b"") == (Send(conn=0, chunks=(b"",)), Abort(conn=0))


def test_half_close_sends_shuts_down_and_waits_for_the_close() -> None:
    assert half_close(0, (b"a\n",)) == (
        Send(conn=0, chunks=(b"a\n",)),
        HalfClose(conn=0),
        ExpectClose(conn=0),
    )


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: pauses(max_pause=-0.1), "max_pause must be a number of seconds >= 0"),
        (lambda: stalls(deadline=0), "deadline must be a number of seconds > 0, got 0"),
        (lambda: abort_points(b"ab", boundaries=(-2,)), "boundaries must be a whole number"),
        (lambda: exchange(0, (), count=-1), "count must be a whole number >= 0, got -1"),
        (lambda: half_close(0, (), pause=-1.0), "pause must be a number of seconds >= 0"),
    ],
)
def test_bad_arguments_are_usage_errors(make: object, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make()  # type: ignore[operator]
