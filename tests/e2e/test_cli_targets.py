"""`wirefault fuzz` on less common targets: AF_UNIX, a greeting server, IPv6; a time budget."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow

SERVERS = Path(__file__).parent / "tiny_servers.py"


def fuzz(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wirefault", "fuzz", *args, "--json", "--max-examples", "5"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_a_unix_socket_server_is_fuzzed_through_a_loopback_front(tmp_path: Path) -> None:
    path = tmp_path / "line.sock"
    done = fuzz(
        f"unix://{path}",
        "--codec",
        "line",
        "--start",
        f"{sys.executable} {SERVERS} unix {{path}}",
        "--properties",
        "reassembly,pipelining,half-close",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["transport"] == "unix"
    assert summary["backend"] == "embedded"
    assert set(summary["properties"].values()) == {"passed"}


def test_a_server_that_speaks_first_passes_with_greeting(tmp_path: Path) -> None:
    start = f"{sys.executable} {SERVERS} greeting {{port}}"
    args = (
        "127.0.0.1:0",
        "--codec",
        "line",
        "--start",
        start,
        "--properties",
        "pipelining",
        "--backend",
        "none",
    )
    with_greeting = fuzz(*args, "--greeting", cwd=tmp_path)
    assert with_greeting.returncode == 0, with_greeting.stdout + with_greeting.stderr
    # Without --greeting the greeting is taken for the first reply, and pipelining
    # fails only when the reply left over at the end arrives before the connection
    # closes: a matter of timing (it failed this assertion 1 run in 4 on a loaded
    # machine), so it is not asserted here.


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_an_ipv6_target_is_written_in_brackets(tmp_path: Path) -> None:
    start = f"{sys.executable} -m wirefault serve line --host ::1 --port {{port}}"
    done = fuzz(
        "[::1]:0",
        "--codec",
        "line",
        "--start",
        start,
        "--properties",
        "reassembly",
        "--backend",
        "none",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["properties"] == {"reassembly": "passed"}


def test_the_time_budget_stops_generation(tmp_path: Path) -> None:
    start = f"{sys.executable} -m wirefault serve line --port {{port}}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirefault",
            "fuzz",
            "127.0.0.1:0",
            "--codec",
            "line",
            "--start",
            start,
            "--max-examples",
            "100000",
            "--time-budget",
            "6",  # room for every property's first round on a loaded machine
            "--json",
            "--backend",
            "none",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["elapsed_s"] < 30
    # Every property got a share of the budget, and used it.
    assert set(summary["properties"].values()) == {"passed"}, summary["per_property"]
    assert summary["examples"] >= 8
