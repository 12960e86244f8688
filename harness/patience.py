"""How long a silence must last before a missing reply is certain, learnt from the server.

A failure judged by a timeout used to cost one whole ``--deadline`` per
example, and shrinking plays dozens of examples. The runner can end a read
early once the server has made no progress for ``settle`` seconds (see
:class:`wirefault.pacing.Silence`); this module picks ``settle`` from how fast
the server has actually been answering: ten times its slowest recent reply,
and never under 20 ms (while shrinking: five times, and never under 5 ms). A
server that answers in 0.2 ms is judged silent after 20 ms; one that takes 80 ms
to think gets 0.5 s: never more than half the deadline, and no early judgement
at all for a server whose replies take a quarter of the deadline.

For a server wirefault started, whose processes it can see, the floor and
most of the factor cover what its processes show directly (a thread still
computing, or ready to run but waiting for a CPU): a silence of four times its
slowest recent reply, never under 2 ms, is certain too once its processes used
no CPU all through it and no thread of theirs runs or waits to
(:mod:`wirefault.server_activity`). The factor left covers a reply the server
waits for on purpose (a timer, a backend it asks), which no thread state shows.

An early judgement is a guess, however well-founded, so a campaign confirms a
failure that rests on one under the full deadline before reporting it.
"""

from __future__ import annotations

from collections import deque

from wirefault.scenario import Expect, Scenario
from wirefault.transcript import Transcript

__all__ = [
    "QUIET_FACTOR",
    "QUIET_FLOOR",
    "SETTLE_FACTOR",
    "SETTLE_FLOOR",
    "SHRINK_SETTLE_FACTOR",
    "SHRINK_SETTLE_FLOOR",
    "ReplyTimes",
    "judged_early",
]

#: The shortest silence that counts as certain, seconds, while looking for a failure
#: (a false judgement there would end the property's search) ...
SETTLE_FLOOR = 0.02
#: ... and while shrinking one (where the shrunk failure is confirmed with the full
#: deadline afterwards, and every failing candidate costs this much).
SHRINK_SETTLE_FLOOR = 0.005
#: Silence must last this many times the slowest recent reply (while shrinking, half as
#: many: a reply time counts from our request, before the server even read it).
SETTLE_FACTOR = 10.0
SHRINK_SETTLE_FACTOR = 5.0
#: The silence that is certain sooner while the server's processes show it waiting:
#: at least this many seconds, and this many times its slowest recent reply.
QUIET_FLOOR = 0.002
QUIET_FACTOR = 4.0
#: Replies remembered (the most recent ones).
WINDOW = 64


class ReplyTimes:
    """The server's recent reply times, and the silence that would be certain.

    Args:
        deadline: the runner's deadline; a settle time near it is not worth using.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._times: deque[float] = deque(maxlen=WINDOW)

    def observe(self, scenario: Scenario, transcript: Transcript) -> None:
        """Learn from every answered ``Expect`` of a play (slow readers excluded).

        Not from a play through a fault proxy: its reply times hold what the toxics
        held back (latency, bandwidth), which is not the server thinking; a silence
        there is judged by the server's own sockets anyway.
        """
        if scenario.needs_fault_layer():
            return
        for result in transcript.expects:
            if result.outcome != "ok" or not result.frames or result.step >= len(scenario.steps):
                continue
            step = scenario.steps[result.step]
            if isinstance(step, Expect) and not step.read_pause:
                # Until the last byte: an unframed response ends only after a quiet time,
                # which is ours, not the server thinking.
                took = result.answered if result.answered is not None else result.elapsed
                self._times.append(took)

    def settle(self, *, shrinking: bool = False, deadline: float | None = None) -> float | None:
        """Seconds of silence that make a missing reply certain (None: wait the deadline).

        At most half of ``deadline`` (the runner's, which is shorter while shrinking;
        default the one given at construction), and None for a server whose slowest
        recent reply took a quarter of it or more.
        """
        if not self._times:
            return None
        limit = (deadline or self.deadline) / 2
        slowest = max(self._times)
        if slowest * 2 >= limit:
            return None
        floor = SHRINK_SETTLE_FLOOR if shrinking else SETTLE_FLOOR
        factor = SHRINK_SETTLE_FACTOR if shrinking else SETTLE_FACTOR
        return min(max(floor, factor * slowest), limit)

    def quiet_settle(self, settle: float) -> float:
        """The silence certain sooner when the server's processes show it waiting
        (:data:`QUIET_FACTOR` times its slowest recent reply, at least
        :data:`QUIET_FLOOR`); never longer than ``settle``, the one it shortens."""
        slowest = max(self._times, default=0.0)
        return min(max(QUIET_FLOOR, QUIET_FACTOR * slowest), settle)


def judged_early(transcript: Transcript) -> bool:
    """Whether some read of ``transcript`` ended by an early judgement of silence (or a
    connect, to a server whose accept queue stayed full), or a reset connection's
    socket was judged held early (:mod:`wirefault.release`)."""
    return any(event.what == "silent" for event in transcript.events) or any(
        record.release == "held-early" for record in transcript.conns.values()
    )
