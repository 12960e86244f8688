"""`wirefault fuzz --time-budget` is the command's wall-clock ceiling; -x stops at a failure.

Against a server that loses a slot with every reset (tiny_servers.py ``slots``): once
they are gone it accepts no one, and from then on every example waits out its
deadlines (the server wedges). The command must still end within the budget plus
5 % (or one deadline).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_support import junit_cases, serve, tiny, wirefault

# Whole campaigns against live servers, bound by their budgets: the `slow` env.
pytestmark = pytest.mark.slow

#: Seconds a loaded machine may add to the command's own allowance: the test's clock
#: starts before the interpreter does, and stops after the process is reaped.
MARGIN = 1.5


def timed_fuzz(*args: str, cwd: Path, budget: float) -> tuple[float, subprocess.Popen[str]]:
    """Run `wirefault fuzz ARGS --time-budget BUDGET`; (wall seconds, finished process)."""
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirefault", "fuzz", *args, "--time-budget", str(budget)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc.wait(timeout=budget * 4 + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return time.monotonic() - began, proc


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "2 workers"])
def test_a_wedged_server_cannot_make_fuzz_overrun_its_budget(tmp_path: Path, workers: int) -> None:
    budget = 20.0 if workers == 1 else 10.0
    wall, proc = timed_fuzz(
        "127.0.0.1:0", "--codec", "line", "--start", tiny("slots"), "--seed", "1",
        "--workers", str(workers), "--json", cwd=tmp_path, budget=budget,
    )  # fmt: skip
    out, err = proc.communicate()
    assert proc.returncode in (0, 1), err
    # Allowed: 5 % of the budget or one deadline (1 s), whichever is larger.
    assert wall < budget + max(0.05 * budget, 1.0) + MARGIN, (wall, err)
    summary = json.loads(out)
    assert summary["complete"] is False  # the wedged server ate the time: something was cut
    assert any(not p["complete"] for p in summary["per_property"].values())


def test_what_the_budget_cut_short_is_said_in_json_text_and_junit(tmp_path: Path) -> None:
    # Properties whose scenarios Hypothesis cannot run out of within the budget: `reset`
    # ran out of new ones after 105 examples in 4 s once silences were judged sooner,
    # and its search was then complete, not cut short.
    args = [
        "127.0.0.1:0", "--codec", "line", "--start", serve("line"), "--backend", "none",
        "--max-examples", "100000", "--properties", "pipelining,reassembly,half-close",
    ]  # fmt: skip
    _, proc = timed_fuzz(*args, "--json", "--junit", "report.xml", cwd=tmp_path, budget=4)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["complete"] is False and summary["first_failure_s"] is None
    for name, prop in summary["per_property"].items():
        # Every property was given examples early: none waited for another to finish.
        assert prop["examples"] > 0 and prop["complete"] is False, name
        assert prop["note"] == "cut short: the time budget was spent"
    cases = junit_cases(tmp_path / "report.xml")
    assert "cut short: the time budget was spent" in cases["reassembly"].findtext("system-out", "")
    _, proc = timed_fuzz(*args, cwd=tmp_path, budget=3)
    text, _ = proc.communicate()
    assert "(cut short: the time budget was spent)" in text
    assert "cut short (not run to the end): pipelining, reassembly, half-close" in text


@pytest.mark.parametrize("workers", ["1", "2"], ids=["one process", "2 workers"])
def test_exitfirst_stops_at_the_first_failure_once_shrunk_and_saved(
    tmp_path: Path, workers: str
) -> None:
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", serve("buggy-first-frame-only"),
        "--properties", "pipelining,reset,half-close,malformed", "-x", "--workers", workers,
        "--seed", "2", "--json", "--backend", "none",
        "--deadline", "0.5", "--shrink-budget", "3", "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    (failure,) = summary["failures"]
    assert (tmp_path / failure["replay"]).exists()
    assert list((tmp_path / "out").glob("*.json")) == [tmp_path / failure["replay"]]
    assert summary["first_failure_s"] is not None and summary["complete"] is False
    others = [p for name, p in summary["per_property"].items() if name != failure["property"]]
    assert others and any(not p["complete"] for p in others)
    stopped = [p["note"] for p in others if not p["complete"]]
    assert all(note.endswith("-x stopped the run at the first failure") for note in stopped)
