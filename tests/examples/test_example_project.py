"""examples/kvstore, run end to end as its users would: its own pytest, two xdist workers.

The example's suite runs in a subprocess from its own folder (its own
pytest.ini, wirefault found through the ``pytest11`` entry point), with its
replay files and example database in a temporary folder so the checkout stays
clean. ``--wirefault-backend`` given to this run is passed on, so ``tox -e
toxiproxy`` runs the example against the real Toxiproxy; without it the example
runs on the embedded proxy, so the default suite does not depend on whether a
``toxiproxy-server`` happens to be on PATH (``tox -e examples`` runs it with the
example's own default, ``auto``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from wirefault.plugin_support import property_names_for

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kvstore"
# The marker of examples/kvstore/tests/test_robustness.py (its codec options).
MARKER = {"codec": "line", "max_line": 4096}
UNIT_TESTS = {"test_set_then_get_returns_the_value", "test_unknown_commands_are_errors"}
PROPERTY_TEST = "test_kvstore_survives_the_network"
TIMEOUT = 90.0  # seconds: a hard stop; the suite takes about 3 s on 2 cores


def child_environment() -> dict[str, str]:
    """This process's environment without the outer pytest-xdist worker's variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in examples/
    return env


def outcomes(junit: Path) -> dict[str, str]:
    """Test name (with its parameter) -> passed / failed / error / skipped."""
    results: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        results[case.attrib["name"]] = kinds[0] if kinds else "passed"
    return results


def run_example(out: Path, backend: str) -> subprocess.CompletedProcess[str]:
    """Run the example's suite from its folder, replay files and JUnit report under ``out``."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-n",
        "2",
        "-q",
        "-p",
        "no:cacheprovider",
        "--wirefault-out",
        str(out / "wirefault-out"),
        f"--junitxml={out / 'junit.xml'}",
        "--wirefault-backend",
        backend,
    ]
    return subprocess.run(
        command,
        cwd=EXAMPLE,
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


# One test, not several sharing a module fixture: under xdist each worker would
# run the example's suite again for its share of the tests.
def test_the_example_project_passes_its_own_suite_end_to_end(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    backend = pytestconfig.getoption("--wirefault-backend") or "embedded"
    finished = run_example(tmp_path, str(backend))
    log = finished.stdout[-3000:] + finished.stderr[-2000:]
    assert finished.returncode == 0, log
    results = outcomes(tmp_path / "junit.xml")

    # Every property that applies to a line protocol is its own test, and passes.
    expected = {f"{PROPERTY_TEST}[{name}]" for name in property_names_for(MARKER)}
    ran = {name: outcome for name, outcome in results.items() if name.startswith(PROPERTY_TEST)}
    assert ran == dict.fromkeys(expected, "passed"), log
    # The project's ordinary unit tests run and pass alongside.
    assert {name: results.get(name) for name in UNIT_TESTS} == dict.fromkeys(UNIT_TESTS, "passed")
    assert len(results) == len(expected) + len(UNIT_TESTS)
    # Replay files and the example database went to --wirefault-out, not the example's folder
    # (Hypothesis may keep its own cache in .hypothesis/, which it gitignores itself).
    for leftover in ("wirefault-out", ".pytest_cache"):
        assert not (EXAMPLE / leftover).exists(), f"examples/kvstore/{leftover} was written"
