"""A campaign against a managed server that crashes: what counts as a crash, restarts, and waits.

The server is tests/harness/scripted_server.py, told by the scenario's own
lines to die at once, die a little later, or stop answering while alive.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig
from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.properties import Property, PropertyContext, Verdict, get_property
from wirefault.scenario import Expect, Scenario, Send
from wirefault.target import ServerProcess
from wirefault.transcript import Transcript

SCRIPT = Path(__file__).parent.parent / "harness" / "scripted_server.py"
DEADLINE = 0.5


def line(text: str) -> Scenario:
    """Send one line on a fresh connection and expect one line back."""
    return Scenario(steps=(Send(conn=0, chunks=(text.encode() + b"\n",)), Expect(conn=0, count=1)))


class _AlwaysFails(Property):
    """Fails every example at once, whatever the server did: a failure that is not a crash."""

    name: ClassVar[str] = "always-fails"
    summary: ClassVar[str] = "test double"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return st.just(line("hello"))

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        return Verdict.failed("scripted failure")


class _Plays(Property):
    """Plays one fixed scenario and judges it as liveness does (one answer expected)."""

    name: ClassVar[str] = "plays"
    summary: ClassVar[str] = "test double"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.judged = 0

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return st.just(self.scenario)

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        self.judged += 1
        return get_property("liveness").judge(scenario, transcript, codec)


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    """The scripted line server, started on a free loopback port and stopped after the test."""
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} {{port}}"
    process = ServerProcess(command, Address("tcp", "127.0.0.1", 0))
    process.start()
    yield process
    process.close()


def campaign(
    server: ServerProcess,
    tmp_path: Path,
    *props: Property,
    verify: int = 2,
    deadline: float = DEADLINE,
    shrink_budget: float = 8.0,
) -> Campaign:
    config = CampaignConfig(
        address=server.address,
        codec=get_codec("line"),
        properties=props or (get_property("liveness"),),
        deadline=deadline,
        out_dir=tmp_path,
        verify=verify,
        shrink_budget=shrink_budget,
        seed=0,
        start=server.command,
    )
    return Campaign(config, server=server)


def test_a_server_that_dies_shortly_after_the_failing_example_is_reported_as_crashed(
    server: ServerProcess, tmp_path: Path
) -> None:
    # The server hangs up and closes its listener at once, but exits only 0.3 s later.
    verdict, _ = campaign(server, tmp_path).judge_once(
        get_property("liveness"), line("die-later 0.3")
    )
    assert not verdict.ok
    assert "crash: the server crashed (exit status 3)" in verdict.message


def test_after_a_crash_the_next_example_runs_against_a_restarted_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    run = campaign(server, tmp_path)
    liveness = get_property("liveness")
    crashed, _ = run.judge_once(liveness, line("die 1"))
    assert "crash: the server crashed (exit status 1)" in crashed.message
    verdict, transcript = run.judge_once(liveness, line("hello"))
    assert verdict.ok, verdict.message
    assert transcript.conn(0).frames == [b"hello"]
    assert server.restarts == 1


def test_a_failure_while_the_server_still_answers_costs_no_crash_wait(
    server: ServerProcess, tmp_path: Path
) -> None:
    began = time.monotonic()
    verdict, _ = campaign(server, tmp_path).judge_once(_AlwaysFails(), line("hello"))
    elapsed = time.monotonic() - began
    assert verdict.message == "scripted failure"
    assert elapsed < DEADLINE  # the liveness probe answered: no waiting for a death


def test_a_server_that_stops_answering_but_lives_is_not_a_crash_and_is_waited_for_one_deadline(
    server: ServerProcess, tmp_path: Path
) -> None:
    began = time.monotonic()
    verdict, _ = campaign(server, tmp_path).judge_once(get_property("liveness"), line("hang"))
    elapsed = time.monotonic() - began
    assert not verdict.ok
    assert "crash" not in verdict.message
    assert server.alive()
    # One deadline from the end of the example for a death that does not come, not more.
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + 1.0


def test_a_liveness_probe_that_times_out_counts_towards_the_wait_for_a_death(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Alive and listening, but accepting no one: the probe waits out its deadline, which
    # is already the deadline a death had to show itself in; no second wait follows.
    began = time.monotonic()
    run = campaign(server, tmp_path, deadline=1.0)
    verdict, _ = run.judge_once(get_property("liveness"), line("wedge"))
    elapsed = time.monotonic() - began
    assert not verdict.ok
    assert "crash" not in verdict.message
    assert elapsed < 1.7  # the probe's 1 s, not the probe's and then the wait's


def test_a_crash_found_by_a_campaign_is_verified_against_restarted_servers(
    server: ServerProcess, tmp_path: Path
) -> None:
    result = campaign(server, tmp_path, _Plays(line("die-later 0.1")), verify=2).run()
    (outcome,) = result.results
    assert outcome.status == "failed"
    assert outcome.failure is not None
    assert "crash: the server crashed (exit status 3)" in outcome.failure.message
    assert outcome.failure.agreement == (2, 2)
    assert server.restarts >= 2  # each verifying replay met a fresh server


def test_once_the_shrink_budget_is_spent_the_best_failure_is_played_only_by_the_verifying_replays(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Hypothesis replays its final failing example, and reaches one scenario through many
    # choice sequences; each replay of a crash would cost a restart.
    prop = _Plays(line("die 4"))
    result = campaign(server, tmp_path, prop, verify=2, shrink_budget=0.0).run()
    assert result.results[0].status == "failed"
    assert prop.judged == 1 + 2
    assert server.restarts == 2
