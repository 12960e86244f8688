"""Nothing is left behind, whatever kills wirefault: a real SIGKILL, then nobody is left.

Each test runs a command with a marker in its environment (every process it starts
inherits it: servers, toxiproxy-server, workers, its guardian), waits until what
it starts is running, SIGKILLs the command alone (as a CI timeout does), and
requires every process carrying the marker to be gone within 2 seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from e2e_support import serve

# Whole campaigns and real process trees: the `slow` env.
pytestmark = pytest.mark.slow

GONE_WITHIN = 2.0


def need_toxiproxy() -> None:
    """Skip without toxiproxy-server (fail when WIREFAULT_REQUIRE_TOXIPROXY=1)."""
    from wirefault.faults.toxiproxy_server import INSTALL_HINT, find_server_binary

    if find_server_binary() is not None:
        return
    reason = f"toxiproxy-server not found ({INSTALL_HINT})"
    if os.environ.get("WIREFAULT_REQUIRE_TOXIPROXY") == "1":
        pytest.fail(f"WIREFAULT_REQUIRE_TOXIPROXY=1 but {reason}")
    pytest.skip(reason)


def marked(marker: str, word: str = "") -> list[int]:
    """Live processes whose environment holds ``marker`` (and with ``word`` as an argument)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue  # a zombie's environment reads empty: it holds no socket either
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            wanted = word.encode()
            if word and not any(a == wanted or a.endswith(b"/" + wanted) for a in argv):
                continue
        except OSError:
            continue
        found.append(int(entry.name))
    return found


def commands(pids: list[int]) -> list[str]:
    """The command lines of ``pids``, for a failure message."""
    found = []
    for pid in pids:
        try:
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def wait_for(marker: str, word: str, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(marked(marker, word)) < count:
        assert time.monotonic() < deadline, f"{count} {word!r} process(es) never started"
        time.sleep(0.05)


@contextmanager
def launched(argv: list[str], cwd: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start ``argv`` with a marker of its own; on the way out, kill what the test left."""
    marker = f"{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "WIREFAULT_CLEANUP_MARKER": marker}
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc, marker
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pid in marked(marker):  # only if the test failed: leave nothing running
            os.kill(pid, signal.SIGKILL)


def killed_leaves_nothing(proc: subprocess.Popen[bytes], marker: str) -> float:
    """SIGKILL ``proc``; seconds until no process carries ``marker`` (fails after 2 s)."""
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    proc.wait()
    while left := marked(marker):
        names = [
            Path(f"/proc/{p}/cmdline").read_bytes()[:80]
            for p in left
            if Path(f"/proc/{p}").exists()
        ]
        assert time.monotonic() - killed < GONE_WITHIN, f"still running: {names}"
        time.sleep(0.02)
    return time.monotonic() - killed


def fuzz(*extra: str) -> list[str]:
    return [
        sys.executable, "-m", "wirefault", "fuzz", "127.0.0.1:0", "--codec", "lenprefix",
        "--start", serve("lenprefix"), "--max-examples", "1000000", *extra,
    ]  # fmt: skip


def test_a_killed_fuzz_leaves_no_server(tmp_path: Path) -> None:
    with launched(fuzz("--backend", "embedded"), tmp_path) as (proc, marker):
        wait_for(marker, "serve", 1)
        time.sleep(1.0)  # fuzzing under way
        killed_leaves_nothing(proc, marker)


def test_a_killed_fuzz_with_workers_leaves_no_worker_and_no_server(tmp_path: Path) -> None:
    with launched(fuzz("--backend", "embedded", "--workers", "2"), tmp_path) as (proc, marker):
        wait_for(marker, "serve", 2)
        time.sleep(1.0)
        killed_leaves_nothing(proc, marker)


@pytest.mark.toxiproxy
def test_a_killed_fuzz_leaves_no_toxiproxy_server(tmp_path: Path) -> None:
    need_toxiproxy()
    with launched(fuzz("--backend", "toxiproxy"), tmp_path) as (proc, marker):
        wait_for(marker, "toxiproxy-server", 1)
        wait_for(marker, "serve", 1)
        time.sleep(1.0)
        killed_leaves_nothing(proc, marker)


@pytest.mark.toxiproxy
def test_a_killed_proxy_leaves_no_toxiproxy_server(tmp_path: Path) -> None:
    need_toxiproxy()
    argv = [
        sys.executable, "-m", "wirefault", "proxy", "--upstream", "127.0.0.1:9",
        "--backend", "toxiproxy", "--toxic", "latency:latency=10",
    ]  # fmt: skip
    with launched(argv, tmp_path) as (proc, marker):
        wait_for(marker, "toxiproxy-server", 1)
        time.sleep(0.5)
        killed_leaves_nothing(proc, marker)


USER_TESTS = """
import pytest

@pytest.mark.wirefault(codec="lenprefix", properties=["pipelining"], max_examples=1000000)
def test_server(wirefault_server, wirefault_check, wirefault_property):
    wirefault_check(wirefault_server({command!r}), wirefault_property)
"""


@pytest.mark.parametrize(
    "backend", ["embedded", pytest.param("toxiproxy", marks=pytest.mark.toxiproxy)]
)
def test_a_killed_pytest_session_leaves_no_server(tmp_path: Path, backend: str) -> None:
    if backend == "toxiproxy":
        need_toxiproxy()
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(USER_TESTS).format(command=serve("lenprefix"))
    )
    argv = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
        f"--wirefault-backend={backend}", "test_user.py",
    ]  # fmt: skip
    with launched(argv, tmp_path) as (proc, marker):
        wait_for(marker, "serve", 1)
        if backend == "toxiproxy":
            wait_for(marker, "toxiproxy-server", 1)
        time.sleep(1.0)
        killed_leaves_nothing(proc, marker)
