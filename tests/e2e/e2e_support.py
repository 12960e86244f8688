"""What the end-to-end CLI tests share: running `wirefault`, finding the servers it started."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path


def wirefault(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``python -m wirefault ARGS`` in ``cwd`` to the end, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "wirefault", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def serve(name: str) -> str:
    """The ``--start`` command for reference or zoo server ``name``."""
    return f"{sys.executable} -m wirefault serve {name} --port {{port}}"


#: Small servers for the CLI tests (see its docstring).
TINY_SERVERS = Path(__file__).parent / "tiny_servers.py"


def tiny(mode: str) -> str:
    """The ``--start`` command for ``tiny_servers.py MODE`` on ``{port}``."""
    return f"{sys.executable} {TINY_SERVERS} {mode} {{port}}"


def junit_cases(path: Path) -> dict[str, ET.Element]:
    """The testcases of a JUnit file, by name."""
    return {c.get("name", ""): c for c in ET.parse(path).getroot().iter("testcase")}


def marker_env() -> str:
    """A ``VAR=value`` unique to this test, to put in front of a ``--start`` command."""
    return f"WIREFAULT_TEST_MARKER={os.getpid()}-{time.monotonic_ns()}"


def pids_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (the servers a test started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for_servers(marker: str, count: int = 1, timeout: float = 30) -> None:
    """Wait until ``count`` processes carry ``marker``."""
    deadline = time.monotonic() + timeout
    while len(pids_with(marker)) < count:
        assert time.monotonic() < deadline, f"{count} server(s) never started"
        time.sleep(0.05)


def assert_all_gone(marker: str, timeout: float = 10) -> None:
    """Fail unless every process carrying ``marker`` exits within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while pids_with(marker):
        assert time.monotonic() < deadline, "a server outlived wirefault fuzz"
        time.sleep(0.05)
