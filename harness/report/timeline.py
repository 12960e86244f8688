"""The text timeline of a replay file: what ``wirefault show FILE`` prints.

Pure: a :class:`~wirefault.replay.Replay` in, a string out. The timeline has one
lane (column) per connection; each event is one row, with the time in
milliseconds at the left and the event in its connection's lane::

         ms │ c0                         │ c1
        0.2 │ open                       │
        0.4 │ → 5B 'hello'               │
        1.1 │ ← 7B 'OK hel…'             │
        1.3 ├── +toxic latency(latency=200, jitter=0) downstream ──────────

Arrows are seen from the client: ``→`` is client to server, ``←`` server to
client. Events that belong to no connection (pauses, toxics) span the width,
and so does a ``✗`` row where an Expect step stopped short (when that can be
told, see :mod:`wirefault.report.expects`)::

          ✗ ├── c1 step 6: expected 2 frame(s), got 1: timed out after 1001.2 ms ──
"""

from __future__ import annotations

import math
import textwrap
import time
from collections.abc import Iterable, Mapping
from typing import Any

from wirefault.replay import Replay
from wirefault.report.expects import expect_positions, expect_records, shortfall
from wirefault.transcript import Event

__all__ = [
    "DEFAULT_WIDTH",
    "END_NAMES",
    "connection_lanes",
    "describe_event",
    "escape_preview",
    "header_fields",
    "play_started",
    "render_timeline",
]

DEFAULT_WIDTH = 100
_MIN_LANE = 12
_TIME_COL = 9
_SEP = " │ "

#: How a connection ended (``ConnRecord.end``), in words.
END_NAMES: Mapping[str, str] = {
    "open": "still open at the end (we closed it)",
    "eof": "the server closed it (EOF)",
    "rst": "reset by the server (RST)",
    "refused": "connection refused",
    "aborted": "we reset it (RST)",
    "closed": "we closed it (FIN)",
}

_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\", 0x27: "\\'"}


def escape_preview(data: bytes, limit: int) -> str:
    """``data`` as a quoted, escaped preview at most ``limit`` characters long.

    Printable ASCII shows as itself, ``\\r \\n \\t`` as escapes, anything else
    as ``\\xNN``; a cut preview ends in ``…`` inside the quotes. Returns ``""``
    when not even one escaped byte fits.
    """
    room = limit - 2  # the quotes
    pieces: list[str] = []
    used = 0
    for i, byte in enumerate(data):
        piece = _ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}")
        last = i == len(data) - 1
        if used + len(piece) + (0 if last else 1) > room:
            if not pieces and room < 1:
                return ""
            return "'" + "".join(pieces) + "…'"
        pieces.append(piece)
        used += len(piece)
    return "'" + "".join(pieces) + "'"


def _data_cell(arrow: str, data: bytes, width: int, origin: str = "") -> str:
    head = f"{arrow} {len(data)}B" + (f" {origin}" if origin else "")
    room = width - len(head) - 1
    preview = escape_preview(data, room) if data and room >= 4 else ""
    return f"{head} {preview}" if preview else head


def describe_event(event: Event, width: int = 60) -> str:
    """One event as a lane cell of at most ``width`` characters (see the module docstring)."""
    what = event.what
    if what == "send":
        text = _data_cell("→", event.data, width)
    elif what == "recv":
        text = _data_cell("←", event.data, width, event.detail)
    elif what == "retry":
        text = _data_cell("↻→", event.data, width)
    else:
        text = {
            "open": "open",
            "half_close": "|shut-wr",
            "close": "FIN→ (close)",
            "abort": "RST→",
            "eof": "←EOF",
            "rst": "←RST",
            "refused": "refused"
            if event.detail in ("", "refused")
            else f"refused ({event.detail})",
            "send_blocked": f"send blocked {event.detail}".strip(),
            "garbage": f"garbage: {event.detail}",
            "pause": f"pause {event.detail}",
            "toxic_add": f"+toxic {event.detail}",
            "toxic_remove": f"-toxic {event.detail}",
        }.get(what, f"{what} {event.detail}".strip())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def connection_lanes(replay: Replay) -> list[int]:
    """The connection numbers to draw, in order (from events, records and steps)."""
    seen: dict[int, None] = {}
    for event in replay.events:
        if isinstance(event.conn, int):
            seen.setdefault(event.conn, None)
    for record in _conn_records(replay):
        conn = record.get("conn")
        if isinstance(conn, int):
            seen.setdefault(conn, None)
    for conn in replay.scenario.connections():
        seen.setdefault(conn, None)
    return sorted(seen)


def _conn_records(replay: Replay) -> list[Mapping[str, Any]]:
    records = replay.transcript_json.get("connections", [])
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, Mapping)]


def play_started(replay: Replay) -> float | None:
    """When the recorded play began (seconds since the epoch), if the file says.

    Replay files written before wirefault recorded it have no ``started``: None.
    """
    started = replay.transcript_json.get("started")
    if isinstance(started, bool) or not isinstance(started, int | float):
        return None
    return float(started) if math.isfinite(started) and started > 0 else None


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def header_fields(replay: Replay) -> list[tuple[str, str]]:
    """The header of a report as (label, value) pairs: property, message, target, codec..."""
    options = " ".join(f"{k}={v}" for k, v in sorted(replay.codec_options.items()))
    replays, reproduced = replay.agreement
    fields = [
        (
            "property",
            f"{replay.property} (failed: {replay.kind})"
            if replay.kind
            else f"{replay.property} (failed)",
        ),
        ("message", replay.message or "(no message)"),
        ("target", str(replay.address)),
    ]
    if replay.start:
        fields.append(("started", replay.start))
    fields += [
        ("codec", f"{replay.codec_name} {options}".rstrip()),
        ("backend", replay.backend or "none"),
        (
            "agreement",
            f"reproduced in {reproduced} of {replays} replays" if replays else "not replayed",
        ),
        ("seed", "none" if replay.seed is None else str(replay.seed)),
        ("deadline", f"{replay.deadline:g}s"),
    ]
    started = play_started(replay)
    if started is not None:
        fields.append(("played", _utc(started)))
    return fields


def _header(replay: Replay, width: int) -> Iterable[str]:
    for label, value in header_fields(replay):
        lead = f"{label}:".ljust(11)
        wrap = textwrap.wrap(value, width=max(width - len(lead), 20)) or [""]
        yield from ((lead if i == 0 else " " * len(lead)) + line for i, line in enumerate(wrap))


def _lane_width(lanes: int, width: int) -> int:
    room = width - _TIME_COL - len(_SEP) * max(lanes, 1)
    return max(room // max(lanes, 1), _MIN_LANE)


def _rows(replay: Replay, lanes: list[int], width: int) -> Iterable[str]:
    lane_w = _lane_width(len(lanes), width)
    titles = [f"c{c}".ljust(lane_w) for c in lanes]
    yield ("ms".rjust(_TIME_COL) + _SEP + _SEP.join(titles)).rstrip()
    column = {conn: i for i, conn in enumerate(lanes)}
    full = _TIME_COL + (len(_SEP) + lane_w) * max(len(lanes), 1)
    marks = _failure_marks(replay, full)
    for position, event in enumerate(replay.events):
        yield from marks.get(position, [])
        ms = f"{event.t * 1000:.1f}".rjust(_TIME_COL)
        index = column.get(event.conn) if event.conn is not None else None
        if index is None:
            prefix = f"{event.conn}: " if event.conn is not None else ""
            text = f"{ms} ├── {prefix}{describe_event(event, full - _TIME_COL - 5)} "
            yield text.ljust(full, "─")
            continue
        cells = [" " * lane_w] * len(lanes)
        cells[index] = describe_event(event, lane_w).ljust(lane_w)
        yield (ms + _SEP + _SEP.join(cells)).rstrip()
    yield from marks.get(len(replay.events), [])


def _failure_marks(replay: Replay, full: int) -> dict[int, list[str]]:
    """The ``✗`` rows of the Expects that stopped short, by the event they come before."""
    positions = expect_positions(replay)
    marks: dict[int, list[str]] = {}
    for record in expect_records(replay):
        if record.failed and record.step in positions:
            text = f"c{record.conn} step {record.step}: {shortfall(record)}"
            room = full - _TIME_COL - 5
            text = text if len(text) <= room else text[: room - 1] + "…"
            line = f"{'✗'.rjust(_TIME_COL)} ├── {text} ".ljust(full, "─")
            marks.setdefault(positions[record.step], []).append(line)
    return marks


def _endings(replay: Replay, width: int) -> Iterable[str]:
    for record in _conn_records(replay):
        end = str(record.get("end", "?"))
        frames = record.get("frames", [])
        count = len(frames) if isinstance(frames, list) else 0
        line = (
            f"  c{record.get('conn', '?')}: {END_NAMES.get(end, end)}; "
            f"sent {record.get('sent_bytes', 0)}B, received {record.get('received_bytes', 0)}B "
            f"in {count} frame(s)"
        )
        if record.get("short_send"):
            line += "; a send did not complete"
        if record.get("garbage"):
            line += f"; garbage: {record['garbage']}"
        yield from textwrap.wrap(line, width=width, subsequent_indent="      ")


def render_timeline(replay: Replay, *, width: int = DEFAULT_WIDTH) -> str:
    """The whole text report of ``replay``, lines at most ``width`` wide where possible.

    Lines grow past ``width`` only when there are too many connections for
    lanes of at least 12 characters.
    """
    lines = list(_header(replay, width))
    toxics = replay.scenario.toxics
    lines.append("toxics:" + ("" if toxics else "    none"))
    lines.extend(f"  {t.describe()}" for t in toxics)
    lines.append("scenario:")
    failed = {r.step: r for r in expect_records(replay) if r.failed}
    for i, step in enumerate(replay.scenario.steps):
        why = f"   ✗ {shortfall(failed[i])}" if i in failed else ""
        lines.append(f"  {i:>2}. {step.describe()}{why}")
    lines.append("")
    lanes = connection_lanes(replay)
    if replay.events:
        lines.append("timeline (→ client to server, ← server to client):")
        lines.extend(_rows(replay, lanes, width))
    else:
        lines.append("timeline: no events recorded")
    lines.append("")
    endings = list(_endings(replay, width))
    lines.append("connections:" + ("" if endings else " none recorded"))
    lines.extend(endings)
    return "\n".join(lines) + "\n"
