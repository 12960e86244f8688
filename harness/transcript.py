"""Transcripts: what happened when a scenario was played.

A transcript is the runner's record, and the only thing properties judge:
every byte each way with its time, what each ``Expect`` got, and how each
connection ended as the client saw it. It is plain data and converts to JSON
for replay files and ``wirefault show``.

Connection ends (``ConnRecord.end``):

* ``open``    — still open when the scenario finished with it (we closed it);
* ``eof``     — the server closed its side (we read EOF);
* ``rst``     — the connection was reset (ECONNRESET / EPIPE on our side);
* ``refused`` — the connect was refused or failed (nothing listening);
* ``aborted`` — we reset it ourselves (an ``Abort`` step);
* ``closed``  — we closed it ourselves (a ``Close`` step) before the server did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from wirefault.errors import ReplayError
from wirefault.wire import bytes_from_json, bytes_to_json

__all__ = ["ConnRecord", "Event", "ExpectResult", "Transcript"]

End = Literal["open", "eof", "rst", "refused", "aborted", "closed"]
Outcome = Literal["ok", "timeout", "eof", "rst", "refused", "garbage"]


@dataclass(frozen=True)
class Event:
    """One thing that happened, ``t`` seconds after the scenario started.

    ``what`` is one of: open, send, recv, half_close, abort, close, eof, rst,
    refused, send_blocked, garbage, pause, toxic_add, toxic_remove, retry,
    silent, release, unaccepted.
    """

    t: float
    what: str
    conn: int | None = None
    data: bytes = b""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {"t": round(self.t, 6), "what": self.what}
        if self.conn is not None:
            out["conn"] = self.conn
        if self.data:
            out["data"] = bytes_to_json(self.data)
        if self.detail:
            out["detail"] = self.detail
        return out

    @classmethod
    def from_json(cls, data: Any) -> Event:
        """Rebuild an event from :meth:`to_json` output."""
        if not isinstance(data, dict) or not isinstance(data.get("what"), str):
            raise ReplayError(f"transcript event: expected an object with 'what', got {data!r:.60}")
        return cls(
            t=float(data.get("t", 0.0)),
            what=data["what"],
            conn=data.get("conn"),
            data=bytes_from_json(data.get("data", ""), where="transcript event data"),
            detail=str(data.get("detail", "")),
        )


@dataclass
class ConnRecord:
    """Everything one connection saw.

    Attributes:
        conn: the scenario's connection number.
        sent: every byte written (datagrams concatenated for UDP).
        received: every byte read (datagrams concatenated for UDP).
        frames: the response frames decoded from ``received``, in order.
        end: how the connection ended (see the module docstring).
        garbage: the decoder's complaint when the server sent bytes that are not frames.
        short_send: True when a send could not complete before the deadline.
        cuts: how each cut between two chunks of a send reached the server, in
            order: ``read`` (the server read the chunk before the next was sent,
            so it saw the cut), ``unread`` (it had not read it in time: the
            chunks may have joined), ``paused`` (the server cannot be seen; a
            drawn pause was slept, and whether it saw the cut is unknown).
        release: for a connection we reset (``aborted``) whose server end could be
            seen, what the server did with its socket (:mod:`wirefault.release`):
            ``released``, ``held`` or ``held-early`` (still open in the idle
            server: a leaked descriptor), ``unsure``; empty: not looked at.
        release_after: seconds from the end of the play to that finding.
        unaccepted: the connect timed out (``end`` is ``refused``): nothing answered
            the SYN, which on this machine means a listener whose accept queue is full
            (a server that accepts no one), not that nothing listens.
    """

    conn: int
    sent: bytes = b""
    received: bytes = b""
    frames: list[bytes] = field(default_factory=list)
    end: End = "open"
    garbage: str = ""
    short_send: bool = False
    cuts: list[str] = field(default_factory=list)
    release: str = ""
    release_after: float = 0.0
    unaccepted: bool = False

    def ending(self) -> str:
        """How the connection ended, with a connect that timed out told apart from a
        refusal (``unaccepted``): for :func:`wirefault.properties.base.unanswered`."""
        return "unaccepted" if self.unaccepted else self.end

    def cuts_seen(self) -> int | None:
        """Cuts the server certainly saw as separate reads (None: none could be seen)."""
        if not self.cuts or all(c == "paused" for c in self.cuts):
            return None
        return sum(1 for c in self.cuts if c == "read")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        release = (
            {"release": self.release, "release_after": round(self.release_after, 6)}
            if self.release
            else {}
        )
        return {
            "conn": self.conn,
            "sent_bytes": len(self.sent),
            "received_bytes": len(self.received),
            "frames": [bytes_to_json(f[:4096]) for f in self.frames],
            "end": self.end,
            "garbage": self.garbage,
            "short_send": self.short_send,
            "cuts": {kind: self.cuts.count(kind) for kind in sorted(set(self.cuts))},
            **release,
            **({"unaccepted": True} if self.unaccepted else {}),
        }


@dataclass(frozen=True)
class ExpectResult:
    """What one ``Expect``/``ExpectClose`` step got.

    Attributes:
        step: index of the step in the scenario.
        conn: the connection read.
        wanted: frames wanted (``-1`` for ExpectClose).
        frames: the frames that arrived during the step.
        outcome: ``ok``, or why it stopped short (timeout, eof, rst, refused, garbage).
        elapsed: seconds the step took.
        pending: bytes of an unfinished response frame buffered when the step ended
            (a server that stops mid-frame leaves some).
        answered: seconds from the step's start to the last byte it received (None:
            none came). Shorter than ``elapsed`` where a response ends only after a
            quiet time (unframed codecs): how long the server took to answer.
    """

    step: int
    conn: int
    wanted: int
    frames: tuple[bytes, ...]
    outcome: Outcome
    elapsed: float
    pending: int = 0
    answered: float | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "step": self.step,
            "conn": self.conn,
            "wanted": self.wanted,
            "got": len(self.frames),
            "outcome": self.outcome,
            "elapsed": round(self.elapsed, 6),
            "pending": self.pending,
        }


@dataclass
class Transcript:
    """The whole record of one scenario's play.

    ``started`` is the wall-clock time (seconds since the epoch) when the play
    began, taken when the transcript is created at the start of the play; every
    event's ``t`` counts from it, on the monotonic clock.
    """

    events: list[Event] = field(default_factory=list)
    conns: dict[int, ConnRecord] = field(default_factory=dict)
    expects: list[ExpectResult] = field(default_factory=list)
    elapsed: float = 0.0
    started: float = field(default_factory=time.time)

    def conn(self, number: int) -> ConnRecord:
        """The record of connection ``number`` (an empty one if it never opened)."""
        return self.conns.get(number) or ConnRecord(conn=number, end="refused")

    def expects_on(self, conn: int) -> list[ExpectResult]:
        """The Expect results of one connection, in order."""
        return [e for e in self.expects if e.conn == conn]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (events, connections, expects)."""
        return {
            "started": round(self.started, 6),
            "elapsed": round(self.elapsed, 6),
            "connections": [c.to_json() for c in self.conns.values()],
            "expects": [e.to_json() for e in self.expects],
            "events": [e.to_json() for e in self.events],
        }

    @classmethod
    def events_from_json(cls, data: Any) -> list[Event]:
        """The events of a transcript as stored in a replay file."""
        if not isinstance(data, dict):
            raise ReplayError("transcript: expected an object")
        events = data.get("events", [])
        if not isinstance(events, list):
            raise ReplayError("transcript: 'events' must be a list")
        return [Event.from_json(e) for e in events]
