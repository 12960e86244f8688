"""Timing: pauses between writes, and stalls longer than the runner's deadline.

Pauses come from a short ladder of values rather than a float range: a
scenario's wall time stays small and predictable, replays read well
(``pause=0.005s``), and shrinking lands on exactly 0.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.strategies._common import check_seconds

__all__ = ["pauses", "stalls"]

#: The pauses drawn, in seconds, smallest (and shrink target) first.
PAUSE_LADDER = (0.0, 0.001, 0.005, 0.02)
#: Stalls as multiples of the deadline, shortest first.
STALL_FACTORS = (1.5, 2.0, 3.0)


def pauses(*, max_pause: float = 0.02, min_pause: float = 0.0) -> SearchStrategy[float]:
    """Pauses in seconds from {0, 1 ms, 5 ms, 20 ms} within [min_pause, max_pause].

    Shrinks to ``min_pause`` (0 by default). ``max_pause`` and ``min_pause`` are
    drawn too when not on the ladder; ``min_pause`` above ``max_pause`` is capped.

    Raises:
        UsageError: ``max_pause`` is negative or not a number.

    Example::

        @given(chunkings(data), pauses(max_pause=0.005))
        def test_slow_writer(chunks, pause): ...
    """
    top = check_seconds("pauses", "max_pause", max_pause)
    low = min(check_seconds("pauses", "min_pause", min_pause), top)
    values = sorted({v for v in PAUSE_LADDER if low <= v <= top} | {low, top})
    return st.sampled_from(values)


def stalls(*, deadline: float) -> SearchStrategy[float]:
    """Stalls in seconds strictly longer than ``deadline``: 1.5, 2 or 3 times it.

    Shrinks toward the shortest, 1.5 x ``deadline``.

    Raises:
        UsageError: ``deadline`` is not a positive number of seconds.

    Example::

        @given(stalls(deadline=0.2))
        def test_stall(seconds: float) -> None:
            assert seconds > 0.2
    """
    base = check_seconds("stalls", "deadline", deadline, positive=True)
    return st.sampled_from([base * f for f in STALL_FACTORS])
