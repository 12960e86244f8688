"""The fuzz -> replay -> show loop, through the real `wirefault` entry point in a subprocess."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from e2e_support import assert_all_gone, marker_env, serve, wait_for_servers, wirefault

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One fuzz run against a buggy server that finds its bug (shared by the tests below)."""
    cwd = tmp_path_factory.mktemp("fuzz")
    done = wirefault(
        "fuzz",
        "tcp://127.0.0.1:0",
        "--codec",
        "line",
        "--start",
        serve("buggy-first-frame-only"),
        "--properties",
        "pipelining,reset",
        "--profile",
        "ci",
        "--seed",
        "1",
        "--json",
        "--junit",
        "report.xml",
        "--backend",
        "none",
        "--shrink-budget",
        "5",
        "--deadline",
        "0.5",
        cwd=cwd,
    )
    assert done.returncode == 1, done.stderr
    return cwd, json.loads(done.stdout)


def test_fuzz_exits_1_with_the_json_summary_of_its_contract(found) -> None:
    _, summary = found
    assert set(summary) >= {
        "target",
        "transport",
        "codec",
        "backend",
        "seed",
        "examples",
        "elapsed_s",
        "properties",
        "failures",
    }
    assert summary["properties"] == {"pipelining": "failed", "reset": "passed"}
    assert summary["transport"] == "tcp" and summary["codec"] == "line" and summary["seed"] == 1
    (failure,) = summary["failures"]
    assert failure["property"] == "pipelining"
    assert "pipelined in one write" in failure["message"]


def test_fuzz_writes_a_replay_file_and_junit(found) -> None:
    cwd, summary = found
    replay = cwd / summary["failures"][0]["replay"]
    data = json.loads(replay.read_text())
    assert data["wirefault_replay"] == 1 and data["property"] == "pipelining"
    # When the recorded play began (the pcap's timestamps): during this test session.
    assert time.time() - 3600 < data["transcript"]["started"] <= time.time()
    suite = ET.parse(cwd / "report.xml").getroot()
    assert suite.get("name") == serve("buggy-first-frame-only")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"pipelining", "reset"}
    assert {c.get("classname") for c in cases.values()} == {"wirefault.line"}
    assert cases["pipelining"].find("failure") is not None
    assert cases["reset"].find("failure") is None


def test_replay_reproduces_against_the_buggy_server_and_not_a_correct_one(found) -> None:
    cwd, summary = found
    replay = summary["failures"][0]["replay"]
    bad = wirefault(
        "replay", replay, "--start", serve("buggy-first-frame-only"), "--repeat", "3", cwd=cwd
    )
    assert bad.returncode == 1, bad.stderr
    assert "reproduced in 3/3" in bad.stdout
    good = wirefault("replay", replay, "--start", serve("line"), "--json", cwd=cwd)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["reproduced"] == 0


def test_replay_takes_the_files_of_several_fuzz_runs(found) -> None:
    cwd, summary = found
    first = cwd / summary["failures"][0]["replay"]
    # A second run's file of the same failure (files stand alone: a copy is one).
    second = first.with_name(first.stem + "-1.json")
    shutil.copyfile(first, second)
    files = sorted(
        str(p.relative_to(cwd)) for p in (cwd / "wirefault-out").glob("pipelining-line-*.json")
    )
    assert len(files) >= 2
    bad = wirefault("replay", *files, "--start", serve("buggy-first-frame-only"), cwd=cwd)
    assert bad.returncode == 1, bad.stderr
    lines = [line for line in bad.stdout.splitlines() if not line.startswith("  ")]
    assert len(lines) == len(files)
    assert all(": pipelining: reproduced in 1/1 run(s)" in line for line in lines)
    good = wirefault("replay", *files, "--start", serve("line"), "--json", cwd=cwd)
    assert good.returncode == 0, good.stderr
    reports = json.loads(good.stdout)
    assert [r["file"] for r in reports] == files and {r["reproduced"] for r in reports} == {0}
    # Bare: each file's own (signed) start command, the buggy server.
    bare = wirefault("replay", *files, cwd=cwd)
    assert bare.returncode == 1, bare.stderr


def test_show_renders_the_failure_as_a_timeline_html_and_pcap(found) -> None:
    cwd, summary = found
    replay = summary["failures"][0]["replay"]
    done = wirefault("show", replay, "--html", "out.html", "--pcap", "out.pcap", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "pipelining" in done.stdout and "c0" in done.stdout and "c1" in done.stdout
    assert "<svg" in (cwd / "out.html").read_text()
    assert (cwd / "out.pcap").read_bytes()[:4] == bytes.fromhex("d4c3b2a1")


def test_a_correct_server_exits_0(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz",
        "127.0.0.1:0",
        "--codec",
        "lenprefix",
        "--start",
        serve("lenprefix"),
        "--max-examples",
        "5",
        "--seed",
        "3",
        "--backend",
        "embedded",
        "-q",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_a_udp_server_is_fuzzed_with_the_datagram_codec_by_default(tmp_path: Path) -> None:
    done = wirefault(
        "fuzz",
        "udp://127.0.0.1:0",
        "--start",
        serve("udp-echo"),
        "--oracle",
        "echo",
        "--max-examples",
        "5",
        "--json",
        "--backend",
        "embedded",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["codec"] == "datagram" and summary["transport"] == "udp"
    assert summary["properties"]["echo"] == "passed"
    assert summary["properties"]["datagram-faults"] == "passed"


def test_sigterm_stops_fuzz_and_the_server_it_started(tmp_path: Path) -> None:
    marker = marker_env()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wirefault",
            "fuzz",
            "127.0.0.1:0",
            "--codec",
            "line",
            "--start",
            f"{marker} {serve('line')}",
            "--max-examples",
            "100000",
            "--backend",
            "none",
            "-q",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_servers(marker)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert_all_gone(marker)
