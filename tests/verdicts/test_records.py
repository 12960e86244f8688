"""What verdicts leave behind survives JSON: scenario meta, failure kinds, notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.cli._merge import merge_rounds, result_from_json, result_to_json
from wirefault.codecs import get_codec
from wirefault.errors import ReplayError
from wirefault.replay import save_replay
from wirefault.results import Failure, PropertyResult
from wirefault.scenario import Expect, Scenario, Send
from wirefault.schedule import Round, Schedule
from wirefault.transcript import Transcript

SCENARIO = Scenario(
    steps=(Send(conn=0, chunks=(b"a" * 9000,)), Expect(conn=0)),
    meta=(("malformed", "over-long-line"), ("malformed_step", "0")),
)


def test_scenario_meta_survives_json_and_is_sorted() -> None:
    again = Scenario.from_json(SCENARIO.to_json())
    assert again == SCENARIO
    assert again.tag("malformed") == "over-long-line" and again.tag("absent") == ""
    assert SCENARIO.with_meta(confirm="completed").meta == (
        ("confirm", "completed"),
        ("malformed", "over-long-line"),
        ("malformed_step", "0"),
    )
    assert "meta" not in Scenario(steps=SCENARIO.steps).to_json()  # old files unchanged


@pytest.mark.parametrize("meta", [["a"], {"a": 1}])
def test_bad_meta_in_a_replay_file_is_a_replay_error(meta: object) -> None:
    data = {**SCENARIO.to_json(), "meta": meta}
    with pytest.raises(ReplayError, match="'meta' must be an object of strings"):
        Scenario.from_json(data)


def test_a_workers_result_keeps_its_kind_and_notes(tmp_path: Path) -> None:
    codec = get_codec("line")
    replay = save_replay(
        tmp_path,
        prop="malformed",
        message="after ...",
        codec=codec,
        address=Address("tcp", "127.0.0.1", 1),
        scenario=SCENARIO,
        transcript=Transcript(),
        start=None,
        backend=None,
        deadline=1.0,
        seed=1,
        agreement=(3, 3),
        kind="timeout",
    )
    failure = Failure(
        "malformed", "after ...", SCENARIO, Transcript(), replay, (3, 3), "", "timeout"
    )
    run = PropertyResult("malformed", "failed", 9, 1.0, failure=failure, notes=["n1"])
    other = PropertyResult("malformed", "passed", 9, 1.0, notes=["n1", "n2"])
    back = result_from_json(result_to_json(run))
    assert back.failure is not None and back.failure.kind == "timeout"
    assert back.failure.scenario.tag("malformed") == "over-long-line"
    assert back.notes == ["n1"]
    # Notes from rounds that found nothing reach the parent apart, by property.
    schedule = Schedule(["malformed"], total=10, seed=None)
    schedule.finished(Round("malformed", 0, 9, None), examples=9, seconds=1.0, failed=True)
    merged = merge_rounds(
        schedule,
        [(0, back)],
        skipped={},
        order=["malformed"],
        stopped="",
        workers=2,
        elapsed=1.0,
        notes={"malformed": other.notes},
    )
    assert merged.result.results[0].notes == ["n1", "n2"]
