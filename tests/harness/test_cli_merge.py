"""How `wirefault fuzz --workers N` merges the workers' runs, and how workers are started."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wirefault.addresses import parse_address
from wirefault.cli import build_parser
from wirefault.cli._merge import merge_runs, result_from_json, result_to_json
from wirefault.cli._workers import FORWARDED, worker_argv
from wirefault.codecs import get_codec
from wirefault.replay import save_replay
from wirefault.results import Failure, PropertyResult
from wirefault.scenario import Expect, Scenario, Send
from wirefault.transcript import Transcript

# Options the parent keeps (output, how many workers), or passes on by hand (the
# target, the repeatable --oracle, the flag --greeting), or leaves out because the
# runs carry them (seed, time budget); and argparse's own.
HANDLED_APART = {"json", "junit", "quiet", "verbose", "workers", "worker", "seed", "time_budget"}
HANDLED_APART |= {"target", "oracle", "greeting", "func", "command"}


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
    argv = worker_argv(args)
    assert argv[1:4] == ["-m", "wirefault", "fuzz"]
    worker = build_parser().parse_args(argv[3:])
    for dest in [*FORWARDED, "target", "oracle", "greeting"]:
        assert getattr(worker, dest) == getattr(args, dest), dest
    assert worker.worker and worker.workers == 1 and not worker.json and worker.junit is None


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


def test_examples_and_seconds_add_up_over_a_propertys_runs() -> None:
    runs = [
        (0, sent(PropertyResult("reassembly", "passed", 25, 2.0))),
        (1, sent(PropertyResult("reassembly", "passed", 25, 2.5))),
        (0, sent(PropertyResult("reset", "passed", 3, 0.5))),
    ]
    merged = merge_runs(["reassembly", "reset"], runs, workers=2, elapsed=2.6).result
    reassembly, reset = merged.results
    assert (reassembly.status, reassembly.examples, reassembly.elapsed) == ("passed", 50, 4.5)
    assert (reset.examples, merged.examples, merged.elapsed) == (3, 53, 2.6)


def test_a_failure_found_by_two_workers_is_reported_once_the_smallest_kept(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    big, small, also = (failed(out, "pipelining", n) for n in (40, 12, 30))
    run = merge_runs(["pipelining"], [(0, big), (1, small), (1, also)], workers=2, elapsed=1.0)
    (failure,) = run.result.failures
    assert failure.scenario.size() == 12 and failure.replay == small.failure.replay
    assert run.found_by == {"pipelining": 2}
    assert run.result.results[0].note == "found by 2 of 2 workers"
    assert run.result.results[0].examples == 12
    # The bigger ones' replay files are gone: one failure, one replay file.
    assert sorted(out.iterdir()) == [small.failure.replay]


def test_a_failure_in_one_run_fails_the_property(tmp_path: Path) -> None:
    runs = [
        (0, sent(PropertyResult("reset", "passed", 5, note="flaky: ..."))),
        (1, failed(tmp_path, "reset", 9)),
    ]
    (reset,) = merge_runs(["reset"], runs, workers=2, elapsed=1.0).result.results
    assert reset.status == "failed" and reset.note == "found by 1 of 2 workers"


def test_a_property_is_skipped_only_if_every_run_skipped_it() -> None:
    spent = "time budget spent: stopped early"
    runs = [
        (0, sent(PropertyResult("echo", "skipped", note="does not apply to this codec"))),
        (1, sent(PropertyResult("echo", "skipped", note="does not apply to this codec"))),
        (0, sent(PropertyResult("reset", "passed", 3, note=spent))),
        (1, sent(PropertyResult("reset", "skipped"))),
    ]
    echo, reset = merge_runs(["echo", "reset"], runs, workers=2, elapsed=1.0).result.results
    assert (echo.status, echo.note) == ("skipped", "does not apply to this codec")
    assert (reset.status, reset.examples, reset.note) == ("passed", 3, spent)


def test_a_property_the_budget_left_unstarted_passed_with_no_examples() -> None:
    runs = [(0, sent(PropertyResult("reset", "passed", 3)))]
    reset, late = merge_runs(["reset", "half-close"], runs, workers=2, elapsed=1.0).result.results
    assert (late.status, late.examples, late.note) == (
        "passed",
        0,
        "time budget spent: stopped early",
    )
    assert reset.examples == 3
