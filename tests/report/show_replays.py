"""Small hand-made replay files for the ``wirefault show`` tests (not a test module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wirefault.faults.toxics import Latency
from wirefault.replay import FORMAT_VERSION, Replay, load_replay
from wirefault.scenario import Abort, Expect, Open, Pause, Scenario, Send
from wirefault.transcript import Event
from wirefault.wire import bytes_to_json

SCRIPT = b"<script>alert(1)</script>"

TWO_CONNS_SCENARIO = Scenario(
    steps=(
        Open(conn=0),
        Open(conn=1),
        Send(conn=0, chunks=(b"hello",)),
        Expect(conn=0, count=1),
        Pause(seconds=0.01),
        Send(conn=1, chunks=(SCRIPT,)),
        Abort(conn=1),
    ),
    toxics=(Latency(latency=20, stream="downstream"),),
)

TWO_CONNS_EVENTS = (
    Event(0.0001, "open", 0),
    Event(0.0002, "open", 1),
    Event(0.0010, "send", 0, b"hello"),
    Event(0.0031, "recv", 0, b"OK hello"),
    Event(0.0035, "eof", 0),
    Event(0.0040, "pause", detail="0.01s"),
    Event(0.0150, "send", 1, SCRIPT),
    Event(0.0160, "abort", 1),
)


def connection(conn: int, sent: bytes, received: bytes, end: str, **extra: Any) -> dict[str, Any]:
    """A transcript ``connections`` entry as ``ConnRecord.to_json`` writes it."""
    frames = [bytes_to_json(received)] if received else []
    record = {
        "conn": conn,
        "sent_bytes": len(sent),
        "received_bytes": len(received),
        "frames": frames,
        "end": end,
        "garbage": "",
        "short_send": False,
    }
    record.update(extra)
    return record


def replay_dict(
    scenario: Scenario,
    events: tuple[Event, ...] | list[Event],
    connections: list[dict[str, Any]],
    *,
    address: str = "tcp://127.0.0.1:4000",
    codec: str = "raw",
    started: float | None = None,
) -> dict[str, Any]:
    """A replay file's JSON, in the format ``wirefault.replay`` documents.

    Without ``started`` the transcript has no start time, as in files written
    before wirefault recorded it.
    """
    data: dict[str, Any] = {
        "wirefault_replay": FORMAT_VERSION,
        "property": "reassembly",
        "message": "reassembly: sent whole got [b'OK hello'] but in 2 chunks got []",
        "codec": {"name": codec, "options": {}},
        "target": {"address": address, "start": None},
        "backend": "embedded",
        "deadline": 1.0,
        "seed": 1234,
        "agreement": {"replays": 3, "reproduced": 3},
        "scenario": scenario.to_json(),
        "transcript": {
            "elapsed": 0.02,
            "connections": connections,
            "expects": [
                {"step": 3, "conn": 0, "wanted": 1, "got": 1, "outcome": "ok", "elapsed": 0.002}
            ],
            "events": [e.to_json() for e in events],
        },
    }
    if started is not None:
        data["transcript"]["started"] = started
    return data


def write_replay(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as a replay file and return its path."""
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def two_conns_file(tmp_path: Path) -> Path:
    """The replay file of :data:`TWO_CONNS_SCENARIO`: a send, a recv, an EOF, an abort."""
    data = replay_dict(
        TWO_CONNS_SCENARIO,
        TWO_CONNS_EVENTS,
        [
            connection(0, b"hello", b"OK hello", "eof"),
            connection(1, SCRIPT, b"", "aborted"),
        ],
    )
    return write_replay(tmp_path / "two.json", data)


def two_conns(tmp_path: Path) -> Replay:
    """:func:`two_conns_file` loaded."""
    return load_replay(two_conns_file(tmp_path))


def events_replay(
    tmp_path: Path,
    events: list[Event],
    *,
    address: str = "tcp://127.0.0.1:4000",
    codec: str = "raw",
    started: float | None = None,
) -> Replay:
    """A replay with just ``events`` (a one-step scenario), loaded."""
    scenario = Scenario(steps=(Open(conn=0),))
    data = replay_dict(scenario, events, [], address=address, codec=codec, started=started)
    return load_replay(write_replay(tmp_path / "events.json", data))


def busy_file(tmp_path: Path) -> Path:
    """A crowded failure: five connections, toxics, a long binary payload and message,
    ``<script>`` in the property, message and payload, and two Expects that stopped
    short (c3 timed out with nothing read; c4 got the server's close).

    Written the way a screenshot shows whether the page fits a 1400-pixel window.
    """
    big = bytes(range(256)) * 12
    steps: list[Any] = [Open(conn=c) for c in range(5)]
    steps += [
        Send(conn=0, chunks=(b"GET /" + b"x" * 300 + b" HTTP/1.1\r\n\r\n",)),  # 1 step: 5
        Expect(conn=0, count=1),  # 6
        Send(conn=1, chunks=(big[:1000], big[1000:])),  # 7
        Expect(conn=1, count=1),  # 8
        Send(conn=2, chunks=(SCRIPT,)),  # 9
        Abort(conn=2),  # 10
        Send(conn=3, chunks=(b"PING\r\n",)),  # 11
        Expect(conn=3, count=1),  # 12: timed out, nothing read
        Pause(seconds=0.05),  # 13
        Send(conn=4, chunks=(b"\x00" * 64,)),  # 14
        Expect(conn=4, count=2),  # 15: the server closed after one frame
    ]
    events = [Event(0.0001 * (c + 1), "open", c) for c in range(5)]
    events += [
        Event(0.0010, "send", 0, b"GET /" + b"x" * 300 + b" HTTP/1.1\r\n\r\n"),
        Event(0.0030, "recv", 0, b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n"),
        Event(0.0040, "send", 1, big[:1000]),
        Event(0.0050, "send", 1, big[1000:]),
        Event(0.0090, "recv", 1, big),
        Event(0.0100, "send", 2, SCRIPT),
        Event(0.0110, "abort", 2),
        Event(0.0120, "send", 3, b"PING\r\n"),
        Event(1.0130, "pause", detail="0.05s"),
        Event(1.0640, "send", 4, b"\x00" * 64),
        Event(1.0660, "recv", 4, b"\x00\x00\x00\x00"),
        Event(1.0661, "eof", 4),
    ]
    data = replay_dict(
        Scenario(steps=tuple(steps), toxics=(Latency(latency=20, stream="downstream"),)),
        events,
        [
            connection(0, b"GET", b"HTTP/1.1 414", "open"),
            connection(1, big, big, "open"),
            connection(2, SCRIPT, b"", "aborted"),
            connection(3, b"PING\r\n", b"", "open"),
            connection(4, b"\x00" * 64, b"\x00" * 4, "eof"),
        ],
        started=1_795_000_000.0,
    )
    data["property"] = "pipelining<script>alert(2)</script>"
    data["message"] = (
        "pipelining: one by one got 2 response(s) " + repr(big[:300]) + SCRIPT.decode()
    )
    data["transcript"]["expects"] = [
        {"step": 6, "conn": 0, "wanted": 1, "got": 1, "outcome": "ok", "elapsed": 0.002},
        {"step": 8, "conn": 1, "wanted": 1, "got": 1, "outcome": "ok", "elapsed": 0.004},
        {"step": 12, "conn": 3, "wanted": 1, "got": 0, "outcome": "timeout", "elapsed": 1.0005},
        {"step": 15, "conn": 4, "wanted": 2, "got": 1, "outcome": "eof", "elapsed": 0.0021},
    ]
    return write_replay(tmp_path / "busy.json", data)
