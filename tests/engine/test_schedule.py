"""Which property plays next: rounds, their sizes and seeds, the order, the end."""

from __future__ import annotations

from wirefault.schedule import EARLY_ROUNDS, MAX_ROUND, Round, Schedule, round_seed, round_size

PROPS = ["reassembly", "pipelining", "large-payload"]


def drain(schedule: Schedule, seconds: dict[str, float] | None = None) -> list[Round]:
    """Every round in the order the schedule hands them out, each finishing at once."""
    rounds, now = [], 0.0
    while (planned := schedule.next_round(now)) is not None:
        cost = (seconds or {}).get(planned.property, 0.01) * planned.examples
        now += cost
        schedule.finished(planned, examples=planned.examples, seconds=cost)
        rounds.append(planned)
    return rounds


def test_rounds_start_with_one_example_then_double_up_to_a_cap() -> None:
    assert [round_size(i) for i in range(8)] == [1, 5, 10, 20, 40, 80, 100, 100]
    assert round_size(10**6) == MAX_ROUND


def test_every_round_has_its_own_seed_and_the_same_command_the_same_seeds() -> None:
    seeds = {round_seed(s, i) for s in range(5) for i in range(20)}
    assert len(seeds) == 100
    assert round_seed(7, 3) == round_seed(7, 3)
    assert round_seed(None, 3) is None


def test_every_property_gets_its_first_round_before_any_gets_a_second() -> None:
    rounds = drain(Schedule(PROPS, total=100, seed=1))
    assert [r.property for r in rounds[:3]] == PROPS
    assert all(r.index == 0 and r.examples == 1 for r in rounds[:3])


def test_a_propertys_rounds_add_up_to_its_examples() -> None:
    schedule = Schedule(PROPS, total=37, seed=1)
    rounds = drain(schedule)
    for name in PROPS:
        assert [r.examples for r in rounds if r.property == name] == [1, 5, 10, 20, 1]
        assert schedule.played(name) == 37 and schedule.complete(name)


def test_the_property_with_the_least_time_goes_next_so_cheap_ones_play_more() -> None:
    # large-payload costs 100 times what pipelining does per example.
    costs = {"reassembly": 0.01, "pipelining": 0.001, "large-payload": 0.1}
    rounds = drain(Schedule(PROPS, total=10**6, seed=None), costs)[:60]
    played = {name: sum(r.examples for r in rounds if r.property == name) for name in PROPS}
    assert played["pipelining"] > played["reassembly"] > played["large-payload"]
    spent = {name: played[name] * costs[name] for name in PROPS}
    # Equal shares of the time, to within a round of the most expensive one.
    assert max(spent.values()) - min(spent.values()) <= MAX_ROUND * 0.1


def test_a_round_still_playing_counts_for_the_time_it_has_taken() -> None:
    schedule = Schedule(["a", "b"], total=100, seed=None)
    first = schedule.next_round(0.0)
    second = schedule.next_round(0.0)
    assert (
        first is not None
        and second is not None
        and (first.property, second.property)
        == (
            "a",
            "b",
        )
    )
    schedule.finished(first, examples=5, seconds=1.0)
    # b has been playing for 3 s and is not back: a, with 1 s, goes again.
    again = schedule.next_round(3.0)
    assert again is not None and again.property == "a" and again.index == 1


def test_a_failure_or_running_out_of_examples_ends_a_property() -> None:
    schedule = Schedule(["failing", "tiny", "other"], total=100, seed=None)
    failing, tiny, _ = (schedule.next_round(0.0) for _ in range(3))
    assert failing is not None and tiny is not None
    schedule.finished(failing, examples=3, seconds=0.1, failed=True)
    schedule.finished(tiny, examples=1, seconds=0.1, exhausted=True)
    assert {r.property for r in drain(schedule)} == {"other"}
    assert schedule.complete("failing") and schedule.complete("tiny")


def test_a_found_failure_drops_the_property_while_its_round_plays_on() -> None:
    schedule = Schedule(["a", "b"], total=100, seed=None)
    a = schedule.next_round(0.0)
    assert a is not None
    schedule.drop("a")  # a worker said its round of `a` found a failing example
    assert {r.property for r in drain(schedule)} == {"b"}
    assert not schedule.complete("a")  # its round has not come back yet
    schedule.finished(a, examples=2, seconds=1.0, failed=True)
    assert schedule.complete("a")


def test_once_stopped_no_round_starts_and_what_was_left_is_incomplete() -> None:
    schedule = Schedule(PROPS, total=100, seed=None)
    planned = schedule.next_round(0.0)
    assert planned is not None
    schedule.finished(planned, examples=5, seconds=0.1)
    schedule.stop()
    assert schedule.next_round(1.0) is None
    assert [schedule.complete(n) for n in PROPS] == [False, False, False]
    assert schedule.played("reassembly") == 5 and schedule.played("pipelining") == 0


def test_a_cut_round_leaves_its_property_incomplete() -> None:
    schedule = Schedule(["a"], total=5, seed=None)
    planned = schedule.next_round(0.0)
    assert planned is not None
    schedule.finished(planned, examples=5, seconds=0.1, failed=True, cut=True)
    assert not schedule.complete("a")


def test_a_property_counts_as_unstarted_until_its_early_rounds() -> None:
    schedule = Schedule(["a", "b"], total=100, seed=None)
    assert schedule.unstarted() == ["a", "b"]
    for _ in range(2 * EARLY_ROUNDS):
        planned = schedule.next_round(0.0)
        assert planned is not None
        schedule.finished(planned, examples=planned.examples, seconds=0.01)
        if planned.index + 1 < EARLY_ROUNDS:
            assert planned.property in schedule.unstarted()
    assert schedule.unstarted() == []
    # A property whose examples are all handed out, or which is over, waits for nothing.
    one = Schedule(["a"], total=1, seed=None)
    planned = one.next_round(0.0)
    assert planned is not None
    one.finished(planned, examples=1, seconds=0.01)
    assert one.unstarted() == []


def test_the_early_rounds_go_round_by_round_in_the_order_given_whatever_they_cost() -> None:
    # reassembly costs 100 times what the others do: its second round still comes first.
    costs = {"reassembly": 0.1, "pipelining": 0.001, "large-payload": 0.001}
    rounds = drain(Schedule(PROPS, total=10**6, seed=None), costs)
    early = [(r.property, r.index) for r in rounds[: EARLY_ROUNDS * len(PROPS)]]
    assert early == [(p, i) for i in range(EARLY_ROUNDS) for p in PROPS]
    # After them, the least time first: the cheap ones catch up.
    assert rounds[EARLY_ROUNDS * len(PROPS)].property != "reassembly"
