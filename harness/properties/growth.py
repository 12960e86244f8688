"""``growth``: the time a server takes to answer grows no faster than the request's size.

Some parsers do quadratic or exponential work on some shapes: a long Cookie
split pair by pair into ever-shorter copies, a multipart body rescanned from
the start for every part, a regex backtracking over whitespace runs. One such
request stalls the server (and, with a global lock or one thread, every other
client) for seconds. The scenarios (:mod:`wirefault.strategies.growth`) play one
shape at sizes doubling from 1 KiB to 64 KiB, three times each, each on a fresh
connection; the judge times every play from the connect to the last answer.

It fails only when, at two sizes in a row, *every* play took at least
:data:`SPAN_RATIO` (8) times the fastest play of a size four times smaller (a
linear server takes about 4 times as long; a quadratic one 16), and every
play of the larger of the two took at least :data:`FLOOR` seconds. Ratios are
between plays of the same scenario (the same load on the machine); the fastest
of three plays is each size's time, as near its true cost as noise lets it be
(noise only ever adds), and it discounts a stall that hits one or two of them
(a stall in two plays of the smaller size, compared by their median, once hid
a quadratic server at x12 behind its x8 threshold); two sizes in a row
discount a one-off step (a buffer filling up, a delayed ACK); spans of four
times the size leave room for the fixed and linear costs that flatten the
first doublings; and the floor keeps milliseconds of noise out. A linear
server (each doubling about twice the time) never fails, however slow it is. A play with no
answer within the runner's deadline counts as the deadline: less than its true
time, so it can only hide a failure, never make one. But a play that got part of
an answer and then nothing (the server stopped mid-frame: a short write left
unsent, which ``large-payload`` is for) was not slow at all: a size with such a
play is not a time, and no span that includes it is judged.
"""

from __future__ import annotations

import statistics
from typing import ClassVar

from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.properties.base import Property, PropertyContext, Verdict
from wirefault.scenario import Expect, Scenario, Send
from wirefault.strategies.growth import growth_scenarios, shape_name
from wirefault.transcript import Transcript

__all__ = ["FLOOR", "SPAN_RATIO", "Growth"]

#: Least seconds every play of the slowest size must take before anything is blamed.
FLOOR = 0.1
#: Least time ratio over four times the size that counts as faster than linear (4^1.5).
SPAN_RATIO = 8.0


def _kib(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"


class _Size:
    """The plays of one size: their times, and whether any got no answer in time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.times: list[float] = []
        self.timed_out = False
        #: Some play got part of a response frame, then nothing: not a time at all.
        self.stopped_mid_frame = False

    @property
    def fastest(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def describe(self) -> str:
        size = _kib(self.size)
        if self.timed_out:
            return f"{size}: >={self.median:.2f} s (no answer within the deadline)"
        return f"{size}: {self.median * 1000:.0f} ms"


def _sizes(scenario: Scenario, transcript: Transcript) -> tuple[list[_Size], str]:
    """Each size played, ascending, with its plays' times; and the shape's name."""
    by_size: dict[int, _Size] = {}
    name = ""
    sends = {s.conn: s.data for s in scenario.steps if isinstance(s, Send)}
    counts = {s.conn: s.count for s in scenario.steps if isinstance(s, Expect)}
    opened = {e.conn: e.t for e in transcript.events if e.what == "open"}
    last_send: dict[int | None, float] = {}
    for event in transcript.events:
        if event.what == "send":
            last_send[event.conn] = event.t
    for conn, data in sends.items():
        results = transcript.expects_on(conn)
        if conn not in opened or not results:
            continue  # refused: no time to tell
        name = name or shape_name(data, counts.get(conn, 1))
        sending = last_send.get(conn, opened[conn]) - opened[conn]
        size = by_size.setdefault(len(data), _Size(len(data)))
        size.times.append(sending + results[0].elapsed)
        size.timed_out |= results[0].outcome == "timeout"
        size.stopped_mid_frame |= results[0].outcome == "timeout" and results[0].pending > 0
    return [by_size[k] for k in sorted(by_size)], name


class Growth(Property):
    """Answer time grows no faster than the request's size (1 to 64 KiB, doubling)."""

    name: ClassVar[str] = "growth"
    summary: ClassVar[str] = (
        "answer time grows no faster than request size (one shape, 1 to 64 KiB, 3 plays each)"
    )
    needs_framing: ClassVar[bool] = True

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return growth_scenarios(codec, deadline=ctx.deadline, probe=ctx.probe)

    def wants_full_wait(self, scenario: Scenario, transcript: Transcript) -> bool:
        """Whether a size after one answered in full had a silence judged early.

        A server busy parsing makes no progress a socket can see, so its slow answer
        may be judged silent early and timed as that short silence: it would look fast.
        Where even the smallest size went unanswered there is nothing to compare with,
        and waiting the deadlines out would only cost them; a reply cut short mid-frame
        is no slow answer either.
        """
        # A reply cut short mid-frame was no slow answer (see the module's docstring).
        cut_short = {r.conn for r in transcript.expects if r.pending > 0}
        early = {e.conn for e in transcript.events if e.what == "silent"} - cut_short
        sizes: dict[int, list[int]] = {}
        for step in scenario.steps:
            if isinstance(step, Send):
                sizes.setdefault(len(step.data), []).append(step.conn)
        answered_before = False
        for size in sorted(sizes):
            conns = sizes[size]
            if answered_before and early.intersection(conns):
                return True
            answered_before = answered_before or all(
                r.outcome == "ok" for c in conns for r in transcript.expects_on(c)
            )
        return False

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        sizes, shape = _sizes(scenario, transcript)
        for i in range(3, len(sizes)):
            small, smaller = sizes[i - 2], sizes[i - 3]
            big, bigger = sizes[i - 1], sizes[i]
            if bigger.fastest < FLOOR:
                continue
            if any(s.stopped_mid_frame for s in (smaller, small, big, bigger)):
                continue  # a reply cut short is no time (see the module's docstring)
            if bigger.fastest >= SPAN_RATIO * small.fastest and (
                big.fastest >= SPAN_RATIO * smaller.fastest
            ):
                return Verdict.failed(_message(shape, sizes, (small, bigger)), "slow")
        return Verdict.passed()


def _message(shape: str, sizes: list[_Size], span: tuple[_Size, _Size]) -> str:
    small, bigger = span
    times = ", ".join(s.describe() for s in sizes)
    return (
        f"the {shape} shape took {times} (median of {len(bigger.times)} plays each). "
        f"Four times the size took x{bigger.fastest / small.fastest:.0f} the time, fastest "
        f"play to fastest ({_kib(small.size)} to {_kib(bigger.size)}; every play over "
        f"x{SPAN_RATIO:g}, as for the size before, and over {FLOOR:g} s), where a linear "
        "parser takes x4: the "
        "server's work grows faster than the request (quadratic or worse), so one such "
        "request stalls it, and every client it shares a thread or a lock with"
    )
