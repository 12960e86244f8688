"""Scenarios are plain data that convert to JSON and back exactly."""

from __future__ import annotations

import json

import pytest

from wirefault.errors import ReplayError
from wirefault.faults.toxics import Latency, Split
from wirefault.scenario import (
    Abort,
    AddToxic,
    Close,
    Expect,
    ExpectClose,
    HalfClose,
    Open,
    Pause,
    RemoveToxic,
    Scenario,
    Send,
)

EVERY_STEP = Scenario(
    steps=(
        Open(conn=0, rcvbuf=4096),
        Send(conn=0, chunks=(b"ab", b"\x00\xff", b""), pause=0.01),
        Expect(conn=0, count=2, recv_size=10, read_pause=0.001),
        AddToxic(toxic=Split(offsets=(1, 2), delay=5)),
        HalfClose(conn=0),
        HalfClose(conn=1, at_once=True),
        ExpectClose(conn=0),
        Pause(seconds=0.5),
        RemoveToxic(name="split_downstream"),
        Abort(conn=1),
        Close(conn=2),
    ),
    toxics=(Latency(latency=3, seed=1),),
)


def test_every_step_round_trips_through_json_text() -> None:
    text = json.dumps(EVERY_STEP.to_json())
    assert Scenario.from_json(json.loads(text)) == EVERY_STEP


def test_printable_bytes_stay_readable_in_json() -> None:
    data = EVERY_STEP.to_json()
    assert data["steps"][1]["chunks"][0] == "ab"
    assert data["steps"][1]["chunks"][1] == {"b64": "AP8="}


def test_connections_in_order_of_first_use() -> None:
    assert EVERY_STEP.connections() == [0, 1, 2]
    assert EVERY_STEP.needs_fault_layer()
    assert not Scenario(steps=(Send(conn=0, chunks=(b"x",)),)).needs_fault_layer()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "expected an object"),
        ({"steps": "x"}, "'steps' must be a list"),
        ({"steps": [{"op": "fly"}]}, "unknown op 'fly'"),
        ({"steps": [{"op": "send", "conn": -1}]}, "step 0.conn"),
        ({"steps": [{"op": "send", "chunks": [{"b64": "!!"}]}]}, "invalid base64"),
        ({"steps": [{"op": "pause", "seconds": "1"}]}, "seconds"),
        ({"steps": [{"op": "open", "colour": 1}]}, "unknown field 'colour'"),
        ({"steps": [{"op": "half_close", "at_once": 1}]}, "step 0.at_once: expected true"),
        ({"steps": [], "toxics": [{"type": "zap"}]}, "bad toxic"),
    ],
)
def test_bad_scenarios_say_where(data: object, where: str) -> None:
    with pytest.raises(ReplayError, match=where):
        Scenario.from_json(data)
