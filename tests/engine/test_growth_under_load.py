"""growth raises no false alarm on correct HTTP servers while two CPU hogs run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _engine_support import run_campaign, start_target

from wirefault.addresses import Address
from wirefault.properties import get_property
from wirefault.target import ServerProcess

pytestmark = pytest.mark.slow

_HOG = "while True: pass"


@pytest.fixture
def two_hogs() -> Iterator[None]:
    """Two processes burning a CPU each (the machine has two), stopped after the test."""
    hogs = [subprocess.Popen([sys.executable, "-c", _HOG]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(5)


@pytest.mark.parametrize("server", ["reference", "stdlib"])
def test_growth_passes_correct_servers_under_two_cpu_hogs(
    server: str, two_hogs: None, tmp_path: Path
) -> None:
    if server == "reference":
        process = start_target("http", "tcp")
    else:
        command = (
            f"{sys.executable} -m http.server --bind 127.0.0.1 --directory {tmp_path} {{port}}"
        )
        process = ServerProcess(command, Address("tcp", "127.0.0.1", 0))
        process.start()
    try:
        result = run_campaign(process, "http", [get_property("growth")], tmp_path / "out")
    finally:
        process.close()
    (outcome,) = result.results
    assert outcome.status == "passed", outcome.failure.message if outcome.failure else ""
    assert outcome.examples >= 5  # every shape played
