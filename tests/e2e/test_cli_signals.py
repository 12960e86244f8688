"""A SIGINT or SIGTERM at any moment of `wirefault fuzz` stops it within a second, exit 130.

Sent at several moments of campaigns that find a failure early and spend the rest
shrinking and verifying it (buggy-first-frame-only), or restarting a server that
crashes on bad input (buggy-oversize-crash): every time the command must exit 130
within a second, and the server it started must be gone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_support import assert_all_gone, marker_env, serve, wait_for_servers

# Whole campaigns against live servers: the `slow` env.
pytestmark = pytest.mark.slow

#: From the signal to the reaped process: a second, and a little for a loaded machine.
STOPS_WITHIN = 1.0 + 0.5

CAMPAIGNS = {
    "first-frame-only": ("line", "buggy-first-frame-only"),
    "oversize-crash": ("lenprefix", "buggy-oversize-crash"),
}


@pytest.mark.parametrize("delay", [0.2, 2.0, 4.0])
@pytest.mark.parametrize("campaign", list(CAMPAIGNS))
def test_a_sigint_at_any_moment_stops_fuzz_within_a_second(
    tmp_path: Path, campaign: str, delay: float
) -> None:
    interrupt(tmp_path, campaign, delay, signal.SIGINT)


def test_a_sigterm_stops_fuzz_within_a_second_too(tmp_path: Path) -> None:
    interrupt(tmp_path, "first-frame-only", 2.5, signal.SIGTERM)


def interrupt(tmp_path: Path, campaign: str, delay: float, sig: signal.Signals) -> None:
    codec, server = CAMPAIGNS[campaign]
    marker = marker_env()
    argv = [
        sys.executable, "-m", "wirefault", "fuzz", "127.0.0.1:0", "--codec", codec,
        "--start", f"{marker} {serve(server)}", "--deadline", "0.5", "--shrink-budget", "20",
        "--backend", "embedded", "--seed", "1", "-q",
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # As from a shell with job control: SIGINT not ignored, whatever runs the tests.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for_servers(marker)
        time.sleep(delay)
        assert proc.poll() is None, "the campaign ended before the signal"
        proc.send_signal(sig)
        sent = time.monotonic()
        status = proc.wait(timeout=30)
        stopped = time.monotonic() - sent
        err = proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert status == 130, err
    assert "Traceback" not in err
    assert stopped < STOPS_WITHIN, stopped
    assert_all_gone(marker, timeout=2.0)
