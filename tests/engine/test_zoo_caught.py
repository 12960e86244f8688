"""Every buggy server in the zoo is caught by the property aimed at it; its replay reproduces it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from _engine_support import run_campaign, serve_command, start_target

from wirefault.properties import get_property
from wirefault.replay import load_replay
from wirefault.targets import all_targets

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow

ZOO = [t for t in all_targets() if t.kind == "buggy"]


@pytest.mark.parametrize("target", ZOO, ids=[t.name for t in ZOO])
def test_the_aimed_property_catches_the_bug_and_the_replay_reproduces_it(
    target, tmp_path: Path
) -> None:
    prop = get_property(target.caught_by)
    server = start_target(target.name, target.transport)
    try:
        began = time.monotonic()
        # A short deadline: these servers are known to hang, and every hang costs one. Not for
        # growth: on a loaded machine a 32 KiB play of the quadratic server outlived 0.5 s, the
        # server's thread went on burning CPU after the runner gave up, and that slowed the
        # small sizes of the verifying replays enough that neither reproduced the failure.
        deadline = 2.0 if target.caught_by == "growth" else 0.5
        result = run_campaign(
            server,
            target.codec(),
            [prop],
            tmp_path,
            deadline=deadline,
            verify=2,
            shrink_budget=3,
            samples=target.requests,
            preamble=target.preamble,
        )
        elapsed = time.monotonic() - began
    finally:
        server.close()
    (outcome,) = result.results
    assert outcome.status == "failed", (
        f"{target.name}: {outcome.note or 'not caught'} in {elapsed:.1f}s"
    )
    failure = outcome.failure
    assert failure is not None and failure.replay is not None
    assert failure.agreement[1] >= 1
    replay = load_replay(failure.replay)
    assert replay.property == prop.name
    assert replay.scenario == failure.scenario
    # The replay file alone reproduces it against a fresh server, through the real CLI.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirefault",
            "replay",
            str(failure.replay),
            # A leak shows only after many resets of a fresh server: replay it that often.
            *(
                ["--repeat", "150", "--stop-early"]
                if target.caught_by == "reset"
                else ["--repeat", "2"]
            ),
            "--start",
            serve_command(target.name),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "reproduced in" in done.stdout


def test_the_telemetry_bug_is_reached_only_through_sample_requests(tmp_path: Path) -> None:
    # Without samples (a valid --probe only), lenfield's requests carry zeros where the
    # magic and version go: the server hangs up on each, and pipelining passes. With
    # them, it is caught.
    target = next(t for t in ZOO if t.name == "buggy-telemetry-pipeline-drop")
    server = start_target(target.name, target.transport)
    try:
        blind = run_campaign(
            server,
            target.codec(),
            [get_property("pipelining")],
            tmp_path / "blind",
            max_examples=15,
            deadline=0.5,
            preamble=target.preamble,
            probe=target.requests[0],
        )
        sampled = run_campaign(
            server,
            target.codec(),
            [get_property("pipelining")],
            tmp_path / "sampled",
            max_examples=15,
            deadline=0.5,
            shrink_budget=3,
            samples=target.requests,
            preamble=target.preamble,
        )
    finally:
        server.close()
    assert blind.results[0].status == "passed"
    assert sampled.results[0].status == "failed"
    failure = sampled.results[0].failure
    assert failure is not None and failure.replay is not None
    assert load_replay(failure.replay).preamble == target.preamble
