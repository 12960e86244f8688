"""Where a replay's failure shows: the Expect steps that stopped short, and where they ended.

Pure: a :class:`~wirefault.replay.Replay` in, plain data out, for the text and
HTML reports. An Expect that did not get what it waited for (a timeout, the
server's close or reset, garbage) is usually where a failure is seen; a
property that compares what several connections got may also fail with every
Expect ``ok`` (its message then says what differed).

The transcript records when each event happened but not when each Expect
ended, so :func:`expect_positions` works it out from the order of things: the
scenario's steps run one at a time, and an Expect records only reads (``recv``,
``eof``, ``rst``, ``garbage``, and ``retry`` for UDP) on its own connection.
Per connection, the runs of reading steps line up with the runs of read events;
an Expect that read nothing lies in the one gap between two events at least as
long as it waited. Where that leaves any doubt the Expect gets no position: a
report then marks it in its tables only, never at a guessed place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wirefault.replay import Replay
from wirefault.scenario import Expect, ExpectClose, Step
from wirefault.transcript import Event

__all__ = ["ExpectRecord", "expect_positions", "expect_records", "shortfall"]

#: Events an Expect step records (on its own connection).
READ_EVENTS = frozenset({"recv", "eof", "rst", "garbage", "retry"})

_END = float("inf")  # after the last event: no event follows, however long the wait

_OUTCOMES = {
    "timeout": "timed out",
    "eof": "the server closed the connection (EOF)",
    "rst": "the connection was reset",
    "refused": "the connection was refused",
    "garbage": "the server sent bytes that are not frames",
}


@dataclass(frozen=True)
class ExpectRecord:
    """What one Expect step got, as the replay file's transcript stores it."""

    step: int
    conn: int
    wanted: int
    got: int
    outcome: str
    elapsed: float

    @property
    def failed(self) -> bool:
        """True when the step stopped short of what it waited for."""
        return self.outcome != "ok"


def expect_records(replay: Replay) -> list[ExpectRecord]:
    """The transcript's Expect results (malformed entries are skipped)."""
    records = replay.transcript_json.get("expects", [])
    if not isinstance(records, list):
        return []
    out = []
    for r in records:
        if not isinstance(r, Mapping):
            continue
        numbers = [_int(r.get(k)) for k in ("step", "conn", "wanted", "got")]
        elapsed = r.get("elapsed", 0.0)
        if not _is_number(elapsed):
            continue
        match numbers:
            case [int(step), int(conn), int(wanted), int(got)]:
                outcome = str(r.get("outcome"))
                out.append(ExpectRecord(step, conn, wanted, got, outcome, float(elapsed)))
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shortfall(record: ExpectRecord) -> str:
    """A failed Expect in words: ``expected 2 frame(s), got 1: timed out after 1001.2 ms``."""
    wanted = "the server's close" if record.wanted < 0 else f"{record.wanted} frame(s)"
    how = _OUTCOMES.get(record.outcome, record.outcome)
    if record.outcome == "timeout":
        how += f" after {record.elapsed * 1000:.1f} ms"
    return f"expected {wanted}, got {record.got}: {how}"


def expect_positions(replay: Replay) -> dict[int, int]:
    """For each Expect step that can be placed: how many events came before it ended.

    Keys are step indices; a value ``p`` puts the end of the Expect between
    ``events[p - 1]`` and ``events[p]``. Steps that cannot be placed for sure
    are left out (see the module docstring).
    """
    elapsed = {r.step: r.elapsed for r in expect_records(replay)}
    steps = replay.scenario.steps
    final = len(steps) - 1
    conns = sorted({c for s in steps if isinstance(c := getattr(s, "conn", None), int)})
    positions: dict[int, int] = {}
    for conn in conns:
        own = [(i, s) for i, s in enumerate(steps) if getattr(s, "conn", None) == conn]
        step_runs = _runs([(i, _reads(s)) for i, s in own])
        events = [(i, e.what in READ_EVENTS) for i, e in enumerate(replay.events) if e.conn == conn]
        positions.update(_place(step_runs, _runs(events), replay.events, elapsed, final))
    return positions


def _reads(step: Step) -> bool:
    return isinstance(step, Expect | ExpectClose)


def _runs(items: Sequence[tuple[int, bool]]) -> list[tuple[bool, list[int]]]:
    """Consecutive items of the same kind grouped: (is_read, [indices])."""
    runs: list[tuple[bool, list[int]]] = []
    for index, is_read in items:
        if runs and runs[-1][0] == is_read:
            runs[-1][1].append(index)
        else:
            runs.append((is_read, [index]))
    return runs


def _place(
    step_runs: list[tuple[bool, list[int]]],
    event_runs: list[tuple[bool, list[int]]],
    events: Sequence[Event],
    elapsed: Mapping[int, float],
    final: int,
) -> dict[int, int]:
    """Line one connection's runs of steps up with its runs of events.

    Event runs are the step runs with the runs of Expects that read nothing left
    out (their writing neighbours merged). Which ones read nothing follows from the
    counts: while the step runs still to come hold more reading runs than the
    events, the next Expects must have read nothing; that they did is then checked
    against the clock (the one gap between two events, of all connections, at
    least as long as they waited).
    """
    positions: dict[int, int] = {}
    runs = list(event_runs)
    for k, (is_read, indices) in enumerate(step_runs):
        if not is_read:
            if runs and runs[0][0]:
                return positions  # reads where writes were due: not what we expect
            continue
        writes = runs.pop(0)[1] if runs and not runs[0][0] else []
        reading_steps = sum(1 for r, _ in step_runs[k:] if r)
        reading_events = sum(1 for r, _ in runs if r)
        if reading_steps == reading_events and runs:
            reads = runs.pop(0)[1]
            positions.update({i: reads[-1] + 1 for i in indices})
            continue
        if reading_steps < reading_events or not writes:
            return positions
        waited = sum(elapsed.get(i, 0.0) for i in indices)
        if k < len(step_runs) - 1:
            last = writes[-1]  # before this connection's next writes
        else:
            # After its last writes; after every event only if nothing came after it.
            last = len(events) if final in indices else len(events) - 1
        gaps = [
            p
            for p in range(writes[0] + 1, last + 1)
            if waited > 0 and (events[p].t if p < len(events) else _END) - events[p - 1].t >= waited
        ]
        if len(gaps) != 1:
            return positions
        positions.update({i: gaps[0] for i in indices})
        rest = [i for i in writes if i >= gaps[0]]
        if rest:
            runs.insert(0, (False, rest))
    return positions
