"""A campaign's rounds: every property early, -x, the time budget, what a round keeps alive.

Against tests/harness/scripted_server.py (a line echo server that wedges on cue)
and test-double properties, so each behaviour is exercised on purpose.
"""

from __future__ import annotations

import shlex
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.addresses import Address
from wirefault.campaign import (
    RECHECK_AFTER,
    UNREPRODUCED_SHRINK_BUDGET,
    Campaign,
    CampaignConfig,
    Progress,
)
from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.properties import Property, PropertyContext, Verdict
from wirefault.property_state import PropertyState
from wirefault.results import EXITFIRST, OUT_OF_TIME
from wirefault.rounds import ShrinkOver
from wirefault.scenario import Expect, Scenario, Send
from wirefault.target import ServerProcess
from wirefault.transcript import Transcript

SCRIPT = Path(__file__).parent.parent / "harness" / "scripted_server.py"


def line(text: bytes) -> Scenario:
    """Send one line on a fresh connection and expect one line back."""
    return Scenario(steps=(Send(conn=0, chunks=(text + b"\n",)), Expect(conn=0, count=1)))


class _Echoes(Property):
    """Lines of 1 to 20 letters come back whole (the scripted server echoes: always passes)."""

    name: ClassVar[str] = "echoes"
    summary: ClassVar[str] = "test double"

    def __init__(self, name: str = "echoes", *, fail_from: int | None = None) -> None:
        self.name = name  # type: ignore[misc]
        self.fail_from = fail_from

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return st.binary(min_size=1, max_size=20).map(lambda b: line(b.hex().encode()))

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        sent = scenario.steps[0]
        assert isinstance(sent, Send)
        if self.fail_from is not None and len(sent.data) > self.fail_from:
            return Verdict.failed(f"{self.name}: a line of {len(sent.data)} bytes")
        return Verdict.passed()


class _HighByte(_Echoes):
    """Fails on a line that carries a byte of 0x80 or more (shrinks to one such byte)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.failed_sizes: list[int] = []

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        sent = scenario.steps[0]
        assert isinstance(sent, Send)
        if max(bytes.fromhex(sent.data.decode().strip())) >= 0x80:
            self.failed_sizes.append(len(sent.data))
            return Verdict.failed(f"{self.name}: a high byte")
        return Verdict.passed()


class _Large(Property):
    """Draws a 200 kB payload per example (sending 40 bytes of it): what Hypothesis keeps."""

    name: ClassVar[str] = "large"
    summary: ClassVar[str] = "test double"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        # Built as wirefault's payload strategies build them: a drawn fill, repeated.
        payload = st.integers(0, 255).map(lambda n: bytes([n]) * 200_000)
        return payload.map(lambda b: line(b[:20].hex().encode()))

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        return Verdict.passed()


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    """The scripted line server on a free loopback port, stopped after the test."""
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} {{port}}"
    process = ServerProcess(command, Address("tcp", "127.0.0.1", 0))
    process.start()
    yield process
    process.close()


def campaign(
    server: ServerProcess, tmp_path: Path, *props: Property, **options: object
) -> Campaign:
    config = CampaignConfig(
        address=server.address,
        codec=get_codec("line"),
        properties=props,
        deadline=0.5,
        out_dir=tmp_path,
        verify=1,
        shrink_budget=options.pop("shrink_budget", 2.0),
        seed=0,
        start=server.command,
        **options,  # type: ignore[arg-type]
    )
    seen: list[Progress] = []
    made = Campaign(config, server=server, progress=seen.append)
    made.seen = seen  # type: ignore[attr-defined]
    return made


def test_every_property_plays_its_first_round_before_any_plays_a_second(
    server: ServerProcess, tmp_path: Path
) -> None:
    props = [_Echoes(f"p{i}") for i in range(4)]
    run = campaign(server, tmp_path, *props, max_examples=30)
    result = run.run()
    order = [p.property for p in run.seen]  # type: ignore[attr-defined]
    # One example each (the simplest scenario), in the order given; then a round of 5 each.
    assert order[:4] == [f"p{i}" for i in range(4)]
    blocks = [order[4 + 5 * k : 9 + 5 * k] for k in range(4)]
    assert all(len(set(block)) == 1 for block in blocks), order[:24]
    assert {block[0] for block in blocks} == {f"p{i}" for i in range(4)}
    assert all(r.examples == 30 and r.complete for r in result.results)


def test_a_failure_in_the_last_property_is_found_in_the_first_pass(
    server: ServerProcess, tmp_path: Path
) -> None:
    props = [*(_Echoes(f"p{i}") for i in range(3)), _Echoes("last", fail_from=6)]
    run = campaign(server, tmp_path, *props, max_examples=100)
    result = run.run()
    (failed,) = [r for r in result.results if r.status == "failed"]
    assert failed.name == "last" and failed.examples_to_failure <= 6
    played_before = next(
        p.examples
        for p in run.seen  # type: ignore[attr-defined]
        if p.property == "last" and p.failing
    )
    # The others had their early rounds (1 + 5 examples) each, not 100 examples.
    assert played_before <= 3 * 6 + 6
    assert result.first_failure == failed.seconds_to_failure


def test_a_failure_is_shrunk_only_once_every_property_has_had_its_first_round(
    server: ServerProcess, tmp_path: Path
) -> None:
    # A first round is one example, the simplest scenario: a failure found there waits
    # for the other properties' early rounds (1, then 5 examples) before it is shrunk.
    props = [_Echoes("first", fail_from=0), _Echoes("p1"), _Echoes("p2")]
    run = campaign(server, tmp_path, *props, max_examples=30)
    result = run.run()
    order = [p.property for p in run.seen]  # type: ignore[attr-defined]
    assert order[0] == "first" and run.seen[0].failing  # type: ignore[attr-defined]
    assert order[1:3] == ["p1", "p2"]
    assert sorted(order[3:13]) == ["p1"] * 5 + ["p2"] * 5
    first = result.results[0]
    assert first.status == "failed" and first.failure is not None
    assert first.examples_to_failure == 1
    (sent,) = [s for s in first.failure.scenario.steps if isinstance(s, Send)]
    assert sent.data == b"00\n"  # the simplest line: one NUL byte, as hex, and a newline
    assert all(r.status == "passed" and r.complete for r in result.results[1:])


def test_under_a_short_time_budget_a_failure_is_shrunk_at_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    props = [_HighByte("first"), _Echoes("p1"), _Echoes("p2")]
    run = campaign(server, tmp_path, *props, max_examples=30, time_budget=20.0)
    result = run.run()
    order = [p.property for p in run.seen]  # type: ignore[attr-defined]
    # Less than DEFER_LEFT of budget: the failure is shrunk before anything else plays.
    found = next(i for i, p in enumerate(run.seen) if p.failing)  # type: ignore[attr-defined]
    assert order[found + 1] == "first"
    assert result.results[0].status == "failed"


def test_exitfirst_stops_at_the_first_failure_once_it_is_saved(
    server: ServerProcess, tmp_path: Path
) -> None:
    props = [_Echoes("first", fail_from=0), _Echoes("second", fail_from=0), _Echoes("third")]
    result = campaign(server, tmp_path, *props, max_examples=100, exitfirst=True).run()
    first, second, third = result.results
    assert first.status == "failed" and first.failure is not None and first.failure.replay
    assert first.failure.replay.exists()
    assert len(result.failures) == 1
    # `first` failed in its first round, before the others had one.
    assert (second.status, second.complete, second.examples) == ("skipped", False, 0)
    assert second.note == f"not run: {EXITFIRST}"
    assert not third.complete and result.cut_short == ["second", "third"]


def test_the_time_budget_ends_a_campaign_against_a_wedged_server_and_says_so(
    server: ServerProcess, tmp_path: Path
) -> None:
    wedge = _Echoes("wedges")
    wedge.scenarios = lambda codec, ctx: st.just(line(b"wedge"))  # type: ignore[method-assign]
    budget = 3.0
    began = time.monotonic()
    result = campaign(server, tmp_path, _Echoes(), wedge, max_examples=10**6, time_budget=budget)
    outcome = result.run()
    elapsed = time.monotonic() - began
    # The budget plus the allowance (one 0.5 s deadline), plus a margin for a loaded machine.
    assert elapsed < budget + 0.5 + 1.0, elapsed
    echoes, wedged = outcome.results
    assert not echoes.complete and echoes.note == f"cut short: {OUT_OF_TIME}"
    assert echoes.examples > 0
    # The wedged server failed liveness; shrinking and verification had to fit the budget.
    assert wedged.examples >= 1


def test_a_finished_round_releases_what_its_examples_drew(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Hypothesis keeps every value an example drew until the run ends: a 200 kB payload
    # per example. Rounds bound that to one round's examples, and a round that sent much
    # is collected as soon as it ends (what it kept lives in reference cycles).
    tracemalloc.start()
    try:
        run = campaign(server, tmp_path, _Large(), max_examples=120)
        during: list[int] = []
        run.progress = lambda p: during.append(tracemalloc.get_traced_memory()[0])
        run.run()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    payload = 200_000
    # Rounds of 5, 10, 20, 40 and 45 examples: at most ~45 payloads held at once, where
    # one Hypothesis run of 120 examples would hold all 120 by its end.
    held = max(during) - min(during)
    assert 30 * payload < held < 60 * payload, held
    assert after - min(during) < 5 * payload


def test_a_property_builds_its_scenarios_once_for_all_its_rounds(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Built every round, the strategy was validated every round, and the parts Hypothesis
    # caches (keyed by the new parts) filled its strategy cache round after round.
    prop = _Echoes()
    built: list[PropertyContext] = []
    scenarios = prop.scenarios

    def counted(codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        built.append(ctx)
        return scenarios(codec, ctx)

    prop.scenarios = counted  # type: ignore[method-assign]
    result = campaign(server, tmp_path, prop, max_examples=40).run()  # rounds of 5, 10, 20, 5
    assert result.results[0].examples == 40
    assert len(built) == 1


class _HighByteOnce(_HighByte):
    """Fails on a NUL line (the simplest: found in the first round) or a high-byte one, the
    first time it sees it only: what rests on timing."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.seen: set[bytes] = set()

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        sent = scenario.steps[0]
        assert isinstance(sent, Send)
        if sent.data in self.seen:
            return Verdict.passed()
        self.seen.add(sent.data)
        if sent.data == b"00\n":
            return Verdict.failed(f"{self.name}: a NUL byte")
        return super().judge(scenario, transcript, codec)


def test_a_deferred_failure_that_no_longer_fails_gets_a_short_shrink(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Taken up again it passes: looking for it anew and shrinking it get seconds, not the
    whole shrink budget, and what never fails twice is reported flaky."""
    props = [_HighByteOnce("first"), _Echoes("p1"), _Echoes("p2")]
    run = campaign(server, tmp_path, *props, max_examples=30, shrink_budget=60.0)
    result = run.run()
    state = run._states["first"]
    assert state.unreproduced
    first = result.results[0]
    assert first.status == "passed" and "flaky" in first.note
    # The budget it was held to (the rule, not a timing: see _shrink_budget_spent).
    state.shrink_began = time.monotonic() - UNREPRODUCED_SHRINK_BUDGET - 0.1
    assert run._shrink_budget_spent(state)
    state.unreproduced = False
    assert not run._shrink_budget_spent(state)


class _HighByteByLuck(_HighByte):
    """Fails on a high-byte line only when told to: a failure that rests on timing."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.lucky = False

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        verdict = super().judge(scenario, transcript, codec)
        return verdict if self.lucky else Verdict.passed()


@pytest.mark.parametrize("lucky", [True, False], ids=["fails again", "fails by luck"])
def test_shrinking_plays_the_failure_again_after_candidates_that_do_not_fail(
    server: ServerProcess, tmp_path: Path, lucky: bool
) -> None:
    """Candidates that fail by luck would keep shrinking going until its budget: after
    RECHECK_AFTER in a row that did not fail, the failure itself is played once more,
    and shrinking stops if it no longer fails."""
    prop = _HighByteByLuck("lucky")
    run = campaign(server, tmp_path, prop)
    state = PropertyState(failure=(line(b"ff"), Transcript(), Verdict.failed("a high byte")))
    state.shrink_began = time.monotonic()
    run.stage.ensure_server()
    state.since_failing = RECHECK_AFTER - 1
    run._checkpoint(prop, state)
    prop.lucky = lucky
    state.since_failing = RECHECK_AFTER
    if lucky:
        run._checkpoint(prop, state)
        assert state.since_failing == 0 and not state.notes.lines()
    else:
        with pytest.raises(ShrinkOver):
            run._checkpoint(prop, state)
        (note,) = state.notes.lines()
        assert note.startswith("shrinking stopped early")
    assert prop.failed_sizes == [3]  # the failure was played once, either way


class _Recorded(_Echoes):
    """Passes, and records every scenario it judges (each one played)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.judged: list[Scenario] = []

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        self.judged.append(scenario)
        return Verdict.passed()


def test_the_simplest_scenario_is_played_once_though_every_round_draws_it_first(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Rounds of 1, 5, 10, 14: each a Hypothesis run, and each starts with the simplest
    # scenario. It is played in the first round only; each later round draws one more.
    prop = _Recorded("echoes")
    result = campaign(server, tmp_path, prop, max_examples=30).run()
    (outcome,) = result.results
    assert outcome.examples == 30 and outcome.complete
    assert len(prop.judged) == 30
    simplest = line(b"00")
    assert prop.judged[0] == simplest
    assert prop.judged.count(simplest) == 1


class _OneHighByteByLuck(_HighByte):
    """Fails on the first high-byte line it judges, and never again: a candidate that
    fails once by luck (timing), which no verifying replay reproduces."""

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        if self.failed_sizes:
            return Verdict.passed()
        return super().judge(scenario, transcript, codec)


def test_a_failure_no_replay_reproduces_does_not_end_the_propertys_search(
    server: ServerProcess, tmp_path: Path
) -> None:
    prop = _OneHighByteByLuck("luck")
    result = campaign(server, tmp_path, prop, max_examples=60, shrink_budget=1.0).run()
    (outcome,) = result.results
    assert prop.failed_sizes, "the one-off failure never came"
    assert outcome.status == "passed" and outcome.failure is None
    assert "flaky" in outcome.note
    # It searched on to its last round, rather than stopping at the flaky one (the
    # round that found it ended there: its examples not yet played are not made up).
    assert outcome.complete and outcome.examples >= 50
    assert outcome.examples_to_failure < 20
