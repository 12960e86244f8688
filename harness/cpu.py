"""How much CPU a managed server's processes have used: to wait until it is idle.

A server busy computing (parsing a request a play gave up on) makes no progress
that its sockets show, yet it slows the next play down. For a server wirefault
started, its process group's CPU time says whether it is still working: Linux's
``/proc/PID/stat`` counts every thread of a process, and a forking server's
children share its group. Elsewhere (no ``/proc``) there is nothing to read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from wirefault._guardian import group_stats

__all__ = ["IDLE_FOR", "group_cpu_seconds", "wait_idle"]

#: Seconds without CPU use that count as idle (several scheduler ticks).
IDLE_FOR = 0.03
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def group_cpu_seconds(pgid: int) -> float | None:
    """User plus system CPU seconds of the running processes of group ``pgid``; None: unknown."""
    stats = group_stats(pgid)
    if stats is None:
        return None
    # utime and stime are proc(5)'s fields 14 and 15; group_stats starts at field 3.
    return sum(int(fields[11]) + int(fields[12]) for fields in stats) / _TICK


def wait_idle(
    cpu: Callable[[], float | None], limit: float, *, clock: Callable[[], float] = time.monotonic
) -> bool:
    """Wait until ``cpu()`` stops growing for :data:`IDLE_FOR` seconds, at most ``limit``.

    Returns whether it went idle (False: still busy at the limit, or nothing to read).
    """
    began = clock()
    last = cpu()
    if last is None:
        return False
    quiet_since = began
    while clock() - quiet_since < IDLE_FOR:
        if clock() - began >= limit:
            return False
        time.sleep(IDLE_FOR / 3)
        now = cpu()
        if now is None:
            return False
        if now > last:
            last, quiet_since = now, clock()
    return True
