"""Waiting until a managed server stops using CPU (harness/cpu.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from wirefault.cpu import IDLE_FOR, group_cpu_seconds, wait_idle

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc (Linux)")


def _started(code: str) -> subprocess.Popen[str]:
    """A Python process in a session of its own, once it says ``ready`` (start-up is over)."""
    process = subprocess.Popen(
        [sys.executable, "-c", f"print('ready', flush=True)\n{code}"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    if process.stdout.readline() != "ready\n":
        process.kill()
        process.wait()
        process.stdout.close()
        pytest.fail("the helper process did not start")
    return process


@needs_proc
def test_a_busy_group_uses_cpu_and_an_idle_one_does_not() -> None:
    # Busy for 1 s of its own CPU time, however loaded the machine; the other asleep.
    busy = _started("import time\nwhile time.process_time() < 1.0: pass")
    idle = _started("import time; time.sleep(30)")
    try:
        first = group_cpu_seconds(busy.pid), group_cpu_seconds(idle.pid)
        time.sleep(0.3)
        second = group_cpu_seconds(busy.pid), group_cpu_seconds(idle.pid)
        assert first[0] is not None and second[0] is not None and second[0] > first[0]
        assert first[1] == second[1]
        # The busy one goes idle when its loop ends: waited for, within the limit.
        assert wait_idle(lambda: group_cpu_seconds(busy.pid), limit=30.0)
        assert wait_idle(lambda: group_cpu_seconds(idle.pid), limit=30.0)
    finally:
        for process in (busy, idle):
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def test_waiting_stops_at_the_limit_and_without_a_reading() -> None:
    ticks = iter(range(1, 10_000))
    assert not wait_idle(lambda: float(next(ticks)), limit=IDLE_FOR * 3)  # never quiet
    assert not wait_idle(lambda: None, limit=1.0)  # nothing to read: no wait
