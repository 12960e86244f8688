"""When a run must stop: the end of its time budget, or now, once it is interrupted.

One :class:`Cutoff` is shared by everything a command does that waits: the
campaign's examples, shrinking and verifying replays, the runner's every read,
write, connect and pause, a server's (re)start. Each wait is bounded by the
cutoff as well as by its own deadline, and when a wait is cut by it the waiter
raises (:meth:`Cutoff.check`) instead of recording what it saw: a read cut short
by the budget is not a server that hangs.

Two reasons to stop, two exceptions, both :class:`BaseException` so that no
``except Exception`` (Hypothesis's, a property's) takes them for a failure:

* the time budget is spent: :class:`OutOfTime`; the campaign reports what it has;
* a SIGINT or SIGTERM came (:meth:`Cutoff.interrupt`, called by the signal
  handler): :class:`KeyboardInterrupt`, as Ctrl-C. Python may lose the
  KeyboardInterrupt its handler raises (inside a garbage-collector callback or a
  finalizer); the cutoff remembers it, and the next wait or check raises it again.

Pure bookkeeping over ``time.monotonic()`` (which every process of the machine
shares on Linux, so a parent can hand its end time to its workers).
"""

from __future__ import annotations

import math
import os
import time

__all__ = ["Cutoff", "OutOfTime", "allowance", "process_age"]

#: Share of the budget the command may run over it, to stop what it started and report.
OVERRUN_SHARE = 0.05


class OutOfTime(BaseException):
    """The time budget is spent: stop, keep what was found, report it."""


def allowance(budget: float, deadline: float) -> float:
    """Seconds a command may take past its budget: 5 % of it, or one deadline if larger."""
    return max(budget * OVERRUN_SHARE, deadline)


def process_age() -> float:
    """Seconds since this process started (0 where the kernel does not say).

    The budget of a command counts from its launch: the interpreter's start-up
    and imports are part of the wall time a CI step sees.
    """
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        ticks = int(stat[stat.rfind(b")") + 2 :].split()[19])  # field 22: starttime
        started = ticks / os.sysconf("SC_CLK_TCK")
        return max(time.clock_gettime(time.CLOCK_BOOTTIME) - started, 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


class Cutoff:
    """The moment a run must stop.

    Args:
        ends: ``time.monotonic()`` value when the time budget is spent (None: no budget).
        started: when the run began, the origin of :meth:`elapsed` (default: now).
    """

    def __init__(self, ends: float | None = None, *, started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.ends = ends
        self.interrupted = False

    @classmethod
    def after(cls, budget: float | None, *, started: float | None = None) -> Cutoff:
        """A cutoff ``budget`` seconds after ``started`` (now by default); None: never."""
        began = time.monotonic() if started is None else started
        return cls(None if budget is None else began + budget, started=began)

    def interrupt(self) -> None:
        """Stop now (a SIGINT or SIGTERM came); safe to call from a signal handler."""
        self.interrupted = True

    @property
    def at(self) -> float:
        """The ``time.monotonic()`` value to stop at: now once interrupted, inf without budget."""
        if self.interrupted:
            return -math.inf
        return math.inf if self.ends is None else self.ends

    def left(self) -> float:
        """Seconds until the cutoff (negative once past; inf without budget or interrupt)."""
        return self.at - time.monotonic()

    def passed(self) -> bool:
        """Whether the run must stop now."""
        return self.left() <= 0

    def bound(self, moment: float) -> float:
        """``moment`` (a ``time.monotonic()`` value), or the cutoff if that comes first."""
        return min(moment, self.at)

    def elapsed(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self.started

    def check(self) -> None:
        """Raise if the run must stop: KeyboardInterrupt when interrupted, else OutOfTime.

        Raises:
            KeyboardInterrupt: a SIGINT or SIGTERM came.
            OutOfTime: the time budget is spent.
        """
        if self.interrupted:
            raise KeyboardInterrupt
        if self.ends is not None and time.monotonic() >= self.ends:
            raise OutOfTime
