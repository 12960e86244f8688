"""The queue of runs behind `wirefault fuzz --workers N`: shares, seeds, order, budget."""

from __future__ import annotations

import pytest

from wirefault.cli._schedule import Run, Schedule, chunk_seed, examples_share, runs_per_property

PROPS = ["reassembly", "pipelining", "large-payload"]


def drain(schedule: Schedule, now: float = 0.0) -> list[Run]:
    runs = []
    while (run := schedule.next_run(now)) is not None:
        runs.append(run)
    return runs


@pytest.mark.parametrize("total", [1, 2, 5, 25, 100, 101])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shares_add_up_to_the_total_and_differ_by_at_most_one(total: int, count: int) -> None:
    shares = [examples_share(total, count, i) for i in range(count)]
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


def test_every_run_has_its_own_seed_and_one_run_keeps_the_seed() -> None:
    assert [chunk_seed(7, 4, i) for i in range(4)] == [28, 29, 30, 31]
    assert chunk_seed(7, 1, 0) == 7
    assert chunk_seed(None, 4, 1) is None
    assert len({chunk_seed(s, 4, i) for s in range(5) for i in range(4)}) == 20


@pytest.mark.parametrize(
    ("total", "workers", "runs"),
    [(100, 2, 4), (1000, 2, 4), (60, 2, 3), (25, 2, 2), (25, 4, 4), (3, 4, 3), (1, 1, 1)],
)
def test_two_runs_per_worker_while_runs_keep_20_examples_one_at_least(
    total: int, workers: int, runs: int
) -> None:
    assert runs_per_property(total, workers) == runs


def test_every_propertys_runs_add_up_to_its_examples_with_distinct_seeds() -> None:
    runs = drain(Schedule(PROPS, total=10, chunks=4, seed=3, workers=2))
    for name in PROPS:
        mine = [r for r in runs if r.property == name]
        assert sum(r.examples for r in mine) == 10
        assert sorted(r.seed for r in mine) == [12, 13, 14, 15]
        assert all(r.budget is None for r in mine)


def test_no_more_runs_than_examples() -> None:
    runs = drain(Schedule(["liveness"], total=2, chunks=4, seed=None, workers=2))
    assert [r.examples for r in runs] == [1, 1]


def test_one_run_of_each_property_first_then_the_longest_first() -> None:
    schedule = Schedule(PROPS, total=40, chunks=4, seed=0, workers=2)
    first = [schedule.next_run(0.0) for _ in PROPS]
    assert [r.property for r in first if r] == PROPS
    for run, seconds in zip(first, [2.0, 0.1, 5.0], strict=True):
        assert run is not None
        schedule.finished(run, seconds=seconds, failed=False)
    rest = [r.property for r in drain(schedule)]
    assert rest == ["large-payload"] * 3 + ["reassembly"] * 3 + ["pipelining"] * 3


def test_a_property_still_running_its_first_run_goes_before_the_known_ones() -> None:
    schedule = Schedule(PROPS, total=40, chunks=4, seed=0, workers=2)
    first = [schedule.next_run(0.0) for _ in PROPS]
    assert first[0] is not None and first[1] is not None
    schedule.finished(first[0], seconds=2.0, failed=False)
    schedule.finished(first[1], seconds=0.1, failed=False)
    run = schedule.next_run(0.0)  # large-payload's first run has not come back: slow
    assert run is not None and run.property == "large-payload"


def test_a_failure_cancels_the_propertys_runs_not_yet_started() -> None:
    schedule = Schedule(PROPS, total=40, chunks=4, seed=0, workers=2)
    run = schedule.next_run(0.0)
    assert run is not None and run.property == "reassembly"
    schedule.finished(run, seconds=1.0, failed=True)
    assert "reassembly" not in {r.property for r in drain(schedule)}


def test_with_a_budget_each_run_gets_a_fair_share_of_what_is_left() -> None:
    schedule = Schedule(PROPS, total=4, chunks=2, seed=0, workers=2, budget=12.0, now=100.0)
    run = schedule.next_run(100.0)  # 6 runs over 2 workers: 3 rounds of 4 s
    assert run is not None and run.budget == pytest.approx(4.0)
    late = schedule.next_run(109.0)  # 3 s left for 5 runs, this one too: 3 rounds
    assert late is not None and late.budget == pytest.approx(1.0)


def test_no_run_starts_once_the_budget_is_spent() -> None:
    schedule = Schedule(PROPS, total=4, chunks=2, seed=0, workers=2, budget=1.0, now=0.0)
    assert schedule.next_run(0.5) is not None
    assert schedule.next_run(1.0) is None
    assert schedule.next_run(0.9) is None  # and the runs left are dropped
