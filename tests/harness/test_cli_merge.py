"""How `wirefault fuzz --workers N` merges the workers' rounds, and how workers are started."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wirefault.addresses import parse_address
from wirefault.cli import build_parser
from wirefault.cli._merge import MergedRun, merge_rounds, result_from_json, result_to_json
from wirefault.cli._workers import FORWARDED, worker_argv
from wirefault.codecs import get_codec
from wirefault.cutoff import Cutoff
from wirefault.replay import save_replay
from wirefault.results import OUT_OF_TIME, Failure, PropertyResult
from wirefault.scenario import Expect, Scenario, Send
from wirefault.schedule import Round, Schedule
from wirefault.transcript import Transcript

# Options the parent keeps (output, how many workers, -x), or passes on by hand (the
# target, the repeatable --oracle, the flag --greeting), or leaves out because the
# clock carries it (time budget); and argparse's own.
HANDLED_APART = {"json", "junit", "quiet", "verbose", "workers", "worker", "time_budget"}
HANDLED_APART |= {"target", "oracle", "greeting", "func", "command", "exitfirst"}
# The parent's clock, which a worker is given: its launch and the end of its budget.
HANDLED_APART |= {"run_started", "run_ends"}


def fuzz_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["fuzz", *argv])


def test_every_fuzz_option_is_forwarded_or_deliberately_kept() -> None:
    dests = set(vars(fuzz_args("127.0.0.1:1")))
    assert dests - HANDLED_APART == set(FORWARDED)


def test_a_worker_is_started_with_the_parents_options() -> None:
    args = fuzz_args(
        "tcp://127.0.0.1:0", "--codec", "lenprefix", "--header-bytes", "2", "--byteorder",
        "little", "--max-frame", "4096", "--greeting", "--probe", "HI\\n", "--oracle", "echo",
        "--properties", "reassembly,echo", "--start", "serve --port {port}", "--max-examples",
        "9", "--time-budget", "30", "--seed", "5", "--deadline", "0.5", "--shrink-budget", "2",
        "--backend", "embedded", "--profile", "ci", "--out", "somewhere", "--workers", "3",
        "--json", "--junit", "r.xml", "-q",
    )  # fmt: skip
    argv = worker_argv(args, Cutoff(1030.5, started=1000.25))
    assert argv[1:4] == ["-m", "wirefault", "fuzz"]
    worker = build_parser().parse_args(argv[3:])
    for dest in [*FORWARDED, "target", "oracle", "greeting"]:
        assert getattr(worker, dest) == getattr(args, dest), dest
    assert worker.worker and worker.workers == 1 and not worker.json and worker.junit is None
    assert (worker.run_started, worker.run_ends) == (1000.25, 1030.5)


def scenario(size: int) -> Scenario:
    """A scenario of ``size`` units: one send of ``size - 2`` bytes and one expect."""
    return Scenario(steps=(Send(chunks=(b"x" * (size - 2),)), Expect()))


def failed(out: Path, name: str, size: int) -> PropertyResult:
    """A run that failed with a scenario of ``size`` units, as a worker sends it."""
    replay = save_replay(
        out,
        prop=name,
        message=f"{name}: broke at size {size}",
        codec=get_codec("line"),
        address=parse_address("tcp://127.0.0.1:9"),
        scenario=scenario(size),
        transcript=Transcript(),
        start=None,
        backend=None,
        deadline=1.0,
        seed=None,
        agreement=(3, 3),
    )
    failure = Failure(name, f"{name}: broke at size {size}", scenario(size), Transcript(), replay)
    failure.agreement = (3, 3)
    run = PropertyResult(name, "failed", 4, 1.5, failure=failure, seconds_to_failure=size)
    return sent(run)


def sent(run: PropertyResult) -> PropertyResult:
    """``run`` after the trip from a worker to the parent."""
    return result_from_json(json.loads(json.dumps(result_to_json(run))))


def test_a_run_comes_back_from_a_worker_whole(tmp_path: Path) -> None:
    run = failed(tmp_path, "pipelining", 12)
    assert run.failure is not None and run.failure.scenario == scenario(12)
    assert (run.status, run.examples, run.elapsed, run.failure.agreement) == (
        "failed",
        4,
        1.5,
        (3, 3),
    )
    assert run.complete
    cut = sent(PropertyResult("reset", "passed", 2, complete=False))
    assert not cut.complete


def schedule_of(rounds: dict[str, list[int]]) -> Schedule:
    """A schedule whose properties played rounds of these many examples, a second each.

    The last round of each ran out of examples to try: every property is complete.
    """
    schedule = Schedule(list(rounds), total=100, seed=None)
    for name, sizes in rounds.items():
        for index, size in enumerate(sizes):
            last = index == len(sizes) - 1
            schedule.finished(
                Round(name, index, size, None), examples=size, seconds=1.0, exhausted=last
            )
    return schedule


def merge(
    schedule: Schedule, concluded: list[tuple[int, PropertyResult]], **kw: object
) -> MergedRun:
    options = {"skipped": {}, "order": schedule.properties, "stopped": "", "workers": 2}
    options.update(kw)
    return merge_rounds(schedule, concluded, elapsed=2.6, **options)  # type: ignore[arg-type]


def test_examples_and_seconds_come_from_the_rounds_played() -> None:
    merged = merge(schedule_of({"reassembly": [5, 10], "reset": [3]}), []).result
    reassembly, reset = merged.results
    assert (reassembly.status, reassembly.examples, reassembly.elapsed) == ("passed", 15, 2.0)
    assert (reset.examples, reset.complete, merged.examples, merged.elapsed) == (3, True, 18, 2.6)


def test_a_failure_found_by_two_workers_is_reported_once_the_smallest_kept(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    big, small, also = (failed(out, "pipelining", n) for n in (40, 12, 30))
    run = merge(schedule_of({"pipelining": [5, 5, 2]}), [(0, big), (1, small), (1, also)])
    (failure,) = run.result.failures
    assert failure.scenario.size() == 12 and failure.replay == small.failure.replay
    assert run.found_by == {"pipelining": 2}
    assert run.result.results[0].note == "found by 2 of 2 workers"
    assert run.result.results[0].examples == 12  # the rounds', not the concluded result's 4
    assert run.result.results[0].seconds_to_failure == 12  # the earliest of them
    # The bigger ones' replay files are gone: one failure, one replay file.
    assert sorted(out.iterdir()) == [small.failure.replay]


def test_a_failure_in_one_round_fails_the_property_a_flaky_one_does_not(tmp_path: Path) -> None:
    flaky = sent(PropertyResult("reset", "passed", 5, note="flaky: ..."))
    (alone,) = merge(schedule_of({"reset": [5]}), [(0, flaky)]).result.results
    assert (alone.status, alone.note) == ("passed", "flaky: ...")
    concluded = [(0, flaky), (1, failed(tmp_path, "reset", 9))]
    (reset,) = merge(schedule_of({"reset": [5, 5]}), concluded).result.results
    assert reset.status == "failed" and reset.note == "found by 1 of 2 workers"


def test_a_property_that_does_not_apply_is_skipped() -> None:
    schedule = schedule_of({"reset": [3]})
    skipped = {"echo": "does not apply to this codec"}
    echo, reset = merge(schedule, [], skipped=skipped, order=["echo", "reset"]).result.results
    assert (echo.status, echo.note) == ("skipped", "does not apply to this codec")
    assert reset.status == "passed"


def test_properties_the_budget_cut_short_or_left_unstarted_are_incomplete() -> None:
    schedule = Schedule(["reset", "half-close"], total=100, seed=None)
    planned = schedule.next_round(0.0)
    assert planned is not None
    schedule.finished(planned, examples=5, seconds=1.0)
    schedule.stop()
    merged = merge(schedule, [], stopped=OUT_OF_TIME).result
    reset, late = merged.results
    assert (reset.status, reset.examples, reset.complete) == ("passed", 5, False)
    assert reset.note == "cut short: the time budget was spent"
    assert (late.status, late.examples, late.complete) == ("skipped", 0, False)
    assert late.note == "not run: the time budget was spent"
    assert merged.cut_short == ["reset", "half-close"]
