"""`wirefault fuzz --workers N` end to end: the split, the merged reports, errors and stopping."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from e2e_support import assert_all_gone, junit_cases, marker_env, serve, wait_for_servers, wirefault

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow


def test_workers_share_every_propertys_examples(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", serve("line"), "--workers", "2",
        "--max-examples", "6", "--seed", "4", "--json", "--junit", "report.xml",
        "--backend", "none", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["workers"] == 2 and summary["seed"] == 4
    assert set(summary["properties"].values()) == {"passed"}, summary["per_property"]
    assert len(summary["properties"]) == 9
    # 6 examples: a round of 1 (the simplest scenario), then one of 5, for every property
    # (liveness, with one possible example, and growth, with a few, play fewer: their
    # second round finds nothing new); shared by the two workers as they free up (one
    # ready well before the other may take most).
    per_worker = summary["per_worker"]
    assert len(per_worker) == 2 and sum(w["runs"] for w in per_worker) == 9 * 2
    assert sum(w["examples"] for w in per_worker) == summary["examples"]
    # Every property's examples add up to --max-examples over its runs.
    examples = {
        name: int(case.findtext("system-out", "").split()[0])
        for name, case in junit_cases(tmp_path / "report.xml").items()
    }
    assert set(examples) == set(summary["properties"])
    liveness = examples.pop("liveness")  # one possible example, played once
    assert liveness == 1
    growth = examples.pop("growth")  # a few possible examples (its shapes for line)
    assert 1 <= growth <= 6
    assert set(examples.values()) == {6}, examples


def test_a_failure_found_by_workers_is_reported_once_with_one_replay_file(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz", "tcp://127.0.0.1:0", "--codec", "line", "--start", serve("buggy-first-frame-only"),
        "--properties", "pipelining,reset", "--profile", "ci", "--seed", "1", "--workers", "2",
        "--json", "--junit", "report.xml", "--backend", "none", "--shrink-budget", "2",
        "--deadline", "0.5", "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["properties"] == {"pipelining": "failed", "reset": "passed"}
    (failure,) = summary["failures"]
    assert failure["property"] == "pipelining" and failure["found_by_workers"] in (1, 2)
    replay = json.loads((tmp_path / failure["replay"]).read_text())
    assert replay["property"] == "pipelining" and replay["seed"] == 1
    assert list((tmp_path / "out").glob("*.json")) == [tmp_path / failure["replay"]]
    suite = ET.parse(tmp_path / "report.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = junit_cases(tmp_path / "report.xml")
    assert failure["replay"] in cases["pipelining"].findtext("failure", "")
    assert cases["reset"].find("failure") is None


def test_the_text_report_names_the_workers(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "lenprefix", "--start", serve("lenprefix"),
        "--properties", "pipelining,reset", "--workers", "2", "--max-examples", "3",
        "--seed", "2", "--backend", "none", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   pipelining          3 examples" in done.stdout
    assert "6 examples in" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("over 2 workers: ")


def test_no_more_workers_than_examples(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", serve("line"), "--properties",
        "reset", "--workers", "3", "--max-examples", "2", "--json", "--backend", "none",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["workers"] == 2 and summary["examples"] == 2


def test_a_time_budget_is_every_workers_and_every_property_gets_a_share(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", serve("line"), "--workers", "2",
        "--max-examples", "100000", "--time-budget", "3", "--json", "--backend", "none",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert set(summary["properties"].values()) == {"passed"}, summary["per_property"]
    assert len(summary["properties"]) == 9
    # The budget, and the examples under way when it ran out. (3 s, not less: on a loaded
    # machine two workers may take a second to start, and all nine properties need a turn.)
    assert summary["elapsed_s"] < 5
    assert all(w["examples"] for w in summary["per_worker"])


def test_a_worker_that_fails_stops_the_others_with_one_line(tmp_path: Path) -> None:
    # The second server command to run finds the lock taken and exits at once.
    marker = marker_env()
    start = f"mkdir {tmp_path / 'lock'} && {marker} exec {serve('line')}"
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", start, "--workers", "2",
        "--max-examples", "100000", "--backend", "none", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("wirefault: error: the server command exited at once")
    assert line.endswith("of 2, exit status 2)")
    assert_all_gone(marker)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_every_worker_and_its_server(tmp_path: Path, sig: signal.Signals) -> None:
    marker = marker_env()
    argv = [
        sys.executable, "-m", "wirefault", "fuzz", "127.0.0.1:0", "--codec", "line",
        "--start", f"{marker} {serve('line')}", "--workers", "2",
        "--max-examples", "100000", "--backend", "none", "-q",
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
        wait_for_servers(marker, 2)
        time.sleep(0.5)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 130
        assert b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert_all_gone(marker)


def test_a_worker_whose_budget_ends_before_it_starts_leaves_the_word_to_its_parent(
    tmp_path: Path,
) -> None:
    # Under load a worker may still be starting its server when the run's budget ends
    # (the budget is the parent's: a worker has no --time-budget of its own).
    now = time.monotonic()
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", serve("line"), "--worker",
        "--run-started", repr(now - 5), "--run-ends", repr(now - 1), "--backend", "none",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr and done.stdout == ""
