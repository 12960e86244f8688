"""A replay file as one self-contained HTML page with an SVG sequence diagram.

Pure: a :class:`~wirefault.replay.Replay` in, a string out. The page needs
nothing else: CSS and SVG are inline, there is no script and no external
reference. Every piece of user data (payload previews, messages, commands,
toxic names) goes through :func:`html.escape`.

The diagram has one lifeline per client connection, one for the fault proxy
when the scenario uses toxics, and one for the server. Each event is one row,
in order, labelled with its time in milliseconds on the axis at the left (rows
are evenly spaced: the axis is ordinal, its labels give the real times).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from wirefault.replay import Replay
from wirefault.report.timeline import (
    END_NAMES,
    connection_lanes,
    describe_event,
    escape_preview,
    header_fields,
)
from wirefault.transcript import Event

__all__ = ["render_html"]

_LEFT = 100  # room for the time axis labels
_GAP = 210  # between lifelines
_TOP = 78  # below the lifeline heads
_ROW = 30
_LABEL = 34  # characters of payload preview on an arrow
_TITLE = 400  # characters of payload preview in a hover title

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d1d1f; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dt { font-weight: 600; } dd { margin: 0; font-family: ui-monospace, monospace; }
code, td { font-family: ui-monospace, monospace; font-size: 13px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; }
th { background: #f3f3f3; text-align: left; } .bad { color: #b00020; }
.diagram { overflow-x: auto; border: 1px solid #ddd; padding: 4px; }
svg text { font: 12px ui-monospace, monospace; paint-order: stroke; stroke: #fff;
  stroke-width: 3px; stroke-linejoin: round; }
svg .head { fill: #eef3fb; stroke: #4a6fa5; } svg .life { stroke: #999; stroke-dasharray: 4 4; }
svg .bar { fill: #c8d8ef; } svg .axis { stroke: #555; } svg .tick { fill: #555; }
svg .arrow { stroke-width: 1.6; fill: none; }
svg .data { stroke: #1f5fbf; } svg .ctrl { stroke: #333; }
svg .fin { stroke: #7b3fa0; stroke-dasharray: 6 3; }
svg .rst { stroke: #c62828; stroke-width: 2.2; }
svg .retry { stroke: #1f5fbf; stroke-dasharray: 2 3; }
svg .band { stroke: #e0a000; stroke-dasharray: 8 4; } svg .warn { fill: #e0a000; }
svg .toxic { fill: #7a4; }
"""

# event kind -> (direction: "up" client->server / "down" server->client, css class, label)
_ARROWS: Mapping[str, tuple[str, str, str]] = {
    "open": ("up", "ctrl", "connect (SYN)"),
    "send": ("up", "data", ""),
    "retry": ("up", "retry", "retry "),
    "recv": ("down", "data", ""),
    "half_close": ("up", "fin", "FIN (half-close, shut-wr)"),
    "close": ("up", "fin", "FIN (close)"),
    "abort": ("up", "rst", "RST (we abort)"),
    "eof": ("down", "fin", "FIN (EOF from server)"),
    "rst": ("down", "rst", "RST (reset by server)"),
    "refused": ("down", "rst", "connect refused (RST)"),
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _data_label(event: Event, limit: int) -> str:
    label = f"{len(event.data)}B"
    preview = escape_preview(event.data, limit)
    return f"{label} {preview}" if preview else label


class _Diagram:
    """Places lifelines and rows; collects SVG elements as strings."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.lanes = connection_lanes(replay)
        self.proxy = replay.scenario.needs_fault_layer()
        names = [f"client c{c}" for c in self.lanes]
        subs = ["" for _ in self.lanes]
        if self.proxy:
            names.append("fault proxy")
            subs.append(replay.backend or "")
        names.append("server")
        subs.append(str(replay.address))
        self.heads = list(zip(names, subs, strict=True))
        self.width = _LEFT + _GAP * len(self.heads) + 40
        self.height = _TOP + _ROW * (len(replay.events) + 1) + 20
        self.parts: list[str] = []

    def x(self, index: int) -> int:
        return _LEFT + _GAP // 2 + _GAP * index

    def lane_x(self, conn: int | None) -> int:
        return self.x(self.lanes.index(conn)) if conn in self.lanes else self.x(0)

    @property
    def server_x(self) -> int:
        return self.x(len(self.heads) - 1)

    def render(self) -> str:
        self._frame()
        for row, event in enumerate(self.replay.events):
            y = _TOP + _ROW * (row + 1)
            self.parts.append(
                f'<text class="tick" x="{_LEFT - 8}" y="{y + 4}" text-anchor="end">'
                f"{event.t * 1000:.1f}</text>"
            )
            self._event(event, y)
        return (
            f'<svg width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-label="sequence diagram">{_defs()}{"".join(self.parts)}</svg>'
        )

    def _frame(self) -> None:
        bottom = self.height - 10
        self.parts.append(
            f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>'
            f'<text class="tick" x="{_LEFT - 8}" y="{_TOP}" text-anchor="end">ms</text>'
        )
        for i, (name, sub) in enumerate(self.heads):
            x = self.x(i)
            self.parts.append(
                f'<rect class="head" x="{x - 90}" y="8" width="180" height="44" rx="4"/>'
                f'<text x="{x}" y="26" text-anchor="middle">{_e(name)}</text>'
                f'<text x="{x}" y="43" text-anchor="middle">{_e(sub[:26])}</text>'
                f'<line class="life" x1="{x}" y1="52" x2="{x}" y2="{bottom}"/>'
            )
        for conn in self.lanes:
            rows = [i for i, e in enumerate(self.replay.events) if e.conn == conn]
            if rows:
                y1, y2 = (_TOP + _ROW * (r + 1) for r in (rows[0], rows[-1]))
                self.parts.append(
                    f'<rect class="bar" x="{self.lane_x(conn) - 3}" y="{y1}" '
                    f'width="6" height="{y2 - y1}"/>'
                )

    def _event(self, event: Event, y: int) -> None:
        arrow = _ARROWS.get(event.what)
        if arrow is not None and event.conn is not None:
            direction, css, label = arrow
            if event.what in ("send", "recv", "retry"):
                label += _data_label(event, _LABEL)
            elif event.detail and event.detail != label:
                label += f" ({event.detail})"
            client, server = self.lane_x(event.conn), self.server_x
            x1, x2 = (client, server) if direction == "up" else (server, client)
            title = (
                label
                if not event.data
                else f"{len(event.data)}B " + escape_preview(event.data, _TITLE)
            )
            self._arrow(x1, x2, y, css, label, title)
        elif event.conn is not None:
            x = self.lane_x(event.conn)
            text = describe_event(event, 60)
            self.parts.append(
                f'<rect class="warn" x="{x - 6}" y="{y - 6}" width="12" height="12"/>'
                f'<text x="{x + 10}" y="{y + 4}">{_e(text)}</text>'
            )
        elif event.what in ("toxic_add", "toxic_remove") and self.proxy:
            x = self.x(len(self.heads) - 2)
            self.parts.append(
                f'<path class="toxic" d="M{x} {y - 8}l8 8l-8 8l-8 -8z"/>'
                f'<text x="{x + 12}" y="{y + 4}">{_e(describe_event(event, 80))}</text>'
            )
        else:
            self.parts.append(
                f'<line class="band" x1="{_LEFT}" y1="{y}" x2="{self.width - 20}" y2="{y}"/>'
                f'<text x="{_LEFT + 8}" y="{y - 4}">{_e(describe_event(event, 80))}</text>'
            )

    def _arrow(self, x1: int, x2: int, y: int, css: str, label: str, title: str) -> None:
        tip = x2 - 4 if x2 > x1 else x2 + 4
        marker = "rst" if css == "rst" else "head"
        self.parts.append(
            f"<g><title>{_e(title)}</title>"
            f'<line class="arrow {css}" x1="{x1}" y1="{y}" x2="{tip}" y2="{y}" '
            f'marker-end="url(#m-{marker})"/>'
            f'<text x="{(x1 + x2) // 2}" y="{y - 5}" text-anchor="middle">{_e(label)}</text></g>'
        )


def _defs() -> str:
    return (
        "<defs>"
        '<marker id="m-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0 0L10 5L0 10z" fill="#333"/></marker>'
        '<marker id="m-rst" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" orient="auto"><path d="M0 0L10 5L0 10z" fill="#c62828"/></marker>'
        "</defs>"
    )


def _table(head: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = ["<table><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _records(replay: Replay, key: str) -> list[Mapping[str, Any]]:
    records = replay.transcript_json.get(key, [])
    return [r for r in records if isinstance(r, Mapping)] if isinstance(records, list) else []


def _ms(seconds: object) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return "?"
    return f"{seconds * 1000:.1f} ms"


def _sections(replay: Replay) -> Iterable[str]:
    yield f"<h1>wirefault replay: {_e(replay.property)}</h1><dl>"
    for label, value in header_fields(replay):
        yield f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>"
    yield "</dl><h2>Toxics</h2>"
    toxics = replay.scenario.toxics
    yield "<ul>" + "".join(f"<li><code>{_e(t.describe())}</code></li>" for t in toxics) + "</ul>"
    if not toxics:
        yield "<p>none for the whole scenario</p>"
    yield '<h2>Scenario</h2><ol start="0">'
    yield "".join(f"<li><code>{_e(s.describe())}</code></li>" for s in replay.scenario.steps)
    yield "</ol><h2>Sequence diagram</h2>"
    if replay.events:
        yield f'<div class="diagram">{_Diagram(replay).render()}</div>'
    else:
        yield "<p>No events were recorded.</p>"
    yield "<h2>Connections</h2>"
    conns = _records(replay, "connections")
    yield _table(
        ("conn", "end", "sent", "received", "frames", "notes"),
        (
            (
                f"c{r.get('conn', '?')}",
                END_NAMES.get(str(r.get("end")), str(r.get("end"))),
                f"{r.get('sent_bytes', 0)}B",
                f"{r.get('received_bytes', 0)}B",
                len(r.get("frames") or []),
                "; ".join(
                    ([f"garbage: {r['garbage']}"] if r.get("garbage") else [])
                    + (["a send did not complete"] if r.get("short_send") else [])
                ),
            )
            for r in conns
        ),
    )
    expects = _records(replay, "expects")
    if expects:
        yield "<h2>Expects</h2>"
        yield _table(
            ("step", "conn", "wanted", "got", "outcome", "elapsed"),
            (
                (
                    r.get("step"),
                    f"c{r.get('conn')}",
                    r.get("wanted"),
                    r.get("got"),
                    r.get("outcome"),
                    _ms(r.get("elapsed")),
                )
                for r in expects
            ),
        )
    yield "<h2>Events</h2>"
    yield _table(
        ("ms", "conn", "event", "bytes", "data / detail"),
        (
            (
                f"{e.t * 1000:.1f}",
                "" if e.conn is None else f"c{e.conn}",
                e.what,
                len(e.data) if e.data else "",
                escape_preview(e.data, _TITLE) if e.data else e.detail,
            )
            for e in replay.events
        ),
    )


def render_html(replay: Replay) -> str:
    """The whole report of ``replay`` as one self-contained HTML document."""
    body = "".join(_sections(replay))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>wirefault: {_e(replay.property)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
