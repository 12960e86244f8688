"""Where a failure shows: the Expects that stopped short, and the event each ended after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from show_replays import busy_file, connection, replay_dict, write_replay

from wirefault.replay import Replay, load_replay
from wirefault.report.expects import ExpectRecord, expect_positions, expect_records, shortfall
from wirefault.scenario import Close, Expect, ExpectClose, Open, Scenario, Send
from wirefault.transcript import Event


def _replay(
    tmp_path: Path, steps: list[Any], events: list[Event], expects: list[dict[str, Any]]
) -> Replay:
    data = replay_dict(Scenario(steps=tuple(steps)), events, [connection(0, b"", b"", "open")])
    data["transcript"]["expects"] = expects
    return load_replay(write_replay(tmp_path / "r.json", data))


def _expect(step: int, conn: int, outcome: str, elapsed: float, got: int = 0) -> dict[str, Any]:
    return {
        "step": step, "conn": conn, "wanted": 2, "got": got, "outcome": outcome,
        "elapsed": elapsed,
    }  # fmt: skip


def test_an_expect_that_read_ends_after_its_last_read(tmp_path: Path) -> None:
    steps = [Send(conn=0, chunks=(b"a\n",)), Expect(conn=0, count=2), Close(conn=0)]
    events = [
        Event(0.001, "open", 0),
        Event(0.002, "send", 0, b"a\n"),
        Event(0.003, "recv", 0, b"OK\n"),
        Event(1.004, "close", 0),
    ]
    replay = _replay(tmp_path, steps, events, [_expect(1, 0, "timeout", 1.001, got=1)])
    assert expect_positions(replay) == {1: 3}


def test_an_expect_that_read_nothing_lies_in_the_gap_it_waited(tmp_path: Path) -> None:
    steps = [
        Send(conn=0, chunks=(b"a\n",)),
        Send(conn=1, chunks=(b"b\n",)),
        Expect(conn=1, count=2),
        Close(conn=1),
        Close(conn=0),
    ]
    events = [
        Event(0.001, "open", 0),
        Event(0.002, "send", 0, b"a\n"),
        Event(0.003, "open", 1),
        Event(0.004, "send", 1, b"b\n"),
        Event(1.005, "close", 1),
        Event(1.006, "close", 0),
    ]
    replay = _replay(tmp_path, steps, events, [_expect(2, 1, "timeout", 1.0)])
    assert expect_positions(replay) == {2: 4}


def test_two_gaps_long_enough_leave_an_expect_unplaced(tmp_path: Path) -> None:
    # c0's two sends are a second apart: the Expect on c0 could be at either gap.
    steps = [
        Send(conn=0, chunks=(b"a\n", b"b\n")),
        Expect(conn=0, count=2),
        Close(conn=0),
    ]
    events = [
        Event(0.001, "open", 0),
        Event(0.002, "send", 0, b"a\n"),
        Event(1.003, "send", 0, b"b\n"),
        Event(2.004, "close", 0),
    ]
    replay = _replay(tmp_path, steps, events, [_expect(1, 0, "timeout", 1.0)])
    assert expect_positions(replay) == {}


def test_an_expect_ended_by_the_servers_close_ends_after_the_eof(tmp_path: Path) -> None:
    steps = [Send(conn=0, chunks=(b"a\n",)), ExpectClose(conn=0)]
    events = [Event(0.001, "open", 0), Event(0.002, "send", 0, b"a\n"), Event(0.003, "eof", 0)]
    replay = _replay(tmp_path, steps, events, [_expect(1, 0, "ok", 0.001)])
    assert expect_positions(replay) == {1: 3}


def test_the_busy_replay_places_both_failed_expects(tmp_path: Path) -> None:
    replay = load_replay(busy_file(tmp_path))
    positions = expect_positions(replay)
    assert positions[12] == 13  # c3 timed out between its send and the pause
    assert replay.events[positions[12]].what == "pause"
    assert positions[15] == len(replay.events)  # c4's close came last


def test_malformed_expect_records_are_skipped(tmp_path: Path) -> None:
    steps = [Open(conn=0)]
    expects = [
        {"step": "x"},
        3,
        _expect(0, 0, "ok", 0.1),
        {**_expect(0, 0, "ok", 0.1), "got": True},
    ]
    replay = _replay(tmp_path, steps, [Event(0.0, "open", 0)], expects)
    assert [r.step for r in expect_records(replay)] == [0]


def test_shortfall_says_what_was_missing_and_why() -> None:
    timeout = ExpectRecord(step=6, conn=1, wanted=2, got=1, outcome="timeout", elapsed=1.0012)
    assert shortfall(timeout) == "expected 2 frame(s), got 1: timed out after 1001.2 ms"
    close = ExpectRecord(step=3, conn=0, wanted=-1, got=0, outcome="rst", elapsed=0.01)
    assert shortfall(close) == "expected the server's close, got 0: the connection was reset"
    assert not ExpectRecord(1, 0, 1, 1, "ok", 0.1).failed
