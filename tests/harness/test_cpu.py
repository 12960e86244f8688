"""Waiting until a managed server stops using CPU (harness/cpu.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from wirefault.cpu import IDLE_FOR, group_cpu_seconds, wait_idle

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc (Linux)")


@needs_proc
def test_a_busy_group_uses_cpu_and_an_idle_one_does_not() -> None:
    busy = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.time() + 0.6\nwhile time.time() < end: pass",
        ],
        start_new_session=True,
    )
    idle = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(5)"], start_new_session=True
    )
    try:
        time.sleep(0.3)  # both started; the idle one is asleep
        first = group_cpu_seconds(busy.pid), group_cpu_seconds(idle.pid)
        time.sleep(0.2)
        second = group_cpu_seconds(busy.pid), group_cpu_seconds(idle.pid)
        assert first[0] is not None and second[0] is not None and second[0] > first[0]
        assert first[1] == second[1]
        # The busy one goes idle when its loop ends: waited for, well within the limit.
        began = time.monotonic()
        assert wait_idle(lambda: group_cpu_seconds(busy.pid), limit=10.0)
        assert busy.poll() is not None or time.monotonic() - began < 10.0
        assert wait_idle(lambda: group_cpu_seconds(idle.pid), limit=10.0)
    finally:
        for process in (busy, idle):
            process.kill()
            process.wait()


def test_waiting_stops_at_the_limit_and_without_a_reading() -> None:
    ticks = iter(range(1, 10_000))
    assert not wait_idle(lambda: float(next(ticks)), limit=IDLE_FOR * 3)  # never quiet
    assert not wait_idle(lambda: None, limit=1.0)  # nothing to read: no wait
