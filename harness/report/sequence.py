"""The SVG sequence diagram of a replay, for the HTML report.

Pure: a :class:`~wirefault.replay.Replay` in, SVG text out. One lifeline per
client connection, one for the fault proxy when the scenario uses toxics, and
one for the server. Each event is one row, in order, labelled with its time in
milliseconds on the axis at the left (rows are evenly spaced: the axis is
ordinal, its labels give the real times). An Expect step that stopped short is
a red row where it ended, when that can be told (:mod:`wirefault.report.expects`).

Lifelines are drawn closer together when there are many, so that the diagram
fits a 1400-pixel window; past that, the page's CSS scales it down (SVG_CSS).
Every piece of user data goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from wirefault.replay import Replay
from wirefault.report.expects import ExpectRecord, expect_positions, shortfall
from wirefault.report.timeline import connection_lanes, describe_event, escape_preview
from wirefault.transcript import Event

__all__ = ["SVG_CSS", "Row", "diagram_rows", "render_diagram"]

_LEFT = 100  # room for the time axis labels
_GAP = 210  # between lifelines, when they fit
_MIN_GAP = 150  # the closest they get; past that the diagram scales down to fit
_FIT = 1280  # the diagram's width in a 1400-pixel window, margins and frame taken off
_TOP = 78  # below the lifeline heads
_ROW = 30
_CHAR = 7.5  # width of one character of 12-pixel monospace text, bold
_LABEL = 34  # characters of payload preview on an arrow
_TITLE = 400  # characters of payload preview in a hover title

#: The diagram's styles, for the page's <style>.
SVG_CSS = """
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
svg .failband { fill: #fdecea; } svg .failmark { fill: #c62828; }
svg text.fail { fill: #b00020; font-weight: 700; }
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


#: A row of the diagram: an event, or the end of an Expect that stopped short.
Row = Event | ExpectRecord


def diagram_rows(replay: Replay, failed: list[ExpectRecord]) -> list[Row]:
    """The events in order, with each failed Expect that can be placed where it ended."""
    positions = expect_positions(replay)
    marks: dict[int, list[ExpectRecord]] = {}
    for record in failed:
        if record.step in positions:
            marks.setdefault(positions[record.step], []).append(record)
    rows: list[Row] = []
    for index, event in enumerate(replay.events):
        rows.extend(marks.get(index, []))
        rows.append(event)
    rows.extend(marks.get(len(replay.events), []))
    return rows


class _Diagram:
    """Places lifelines and rows; collects SVG elements as strings."""

    def __init__(self, replay: Replay, rows: list[Row]) -> None:
        self.replay = replay
        self.rows = rows
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
        room = (_FIT - _LEFT - 40) // len(self.heads)
        self.gap = max(_MIN_GAP, min(_GAP, room))
        self.width = _LEFT + self.gap * len(self.heads) + 40
        # Room right of a failed Expect's lane for what it missed, as far as the window allows.
        labels = [
            self.lane_x(r.conn) + 12 + _label_width(r) + 10
            for r in rows
            if isinstance(r, ExpectRecord)
        ]
        self.width = max([self.width, *(min(w, _FIT) for w in labels)])
        self.height = _TOP + _ROW * (len(rows) + 1) + 20
        self.parts: list[str] = []

    def x(self, index: int) -> int:
        return _LEFT + self.gap // 2 + self.gap * index

    def lane_x(self, conn: int | None) -> int:
        return self.x(self.lanes.index(conn)) if conn in self.lanes else self.x(0)

    @property
    def server_x(self) -> int:
        return self.x(len(self.heads) - 1)

    def render(self) -> str:
        self._frame()
        for row, item in enumerate(self.rows):
            y = _TOP + _ROW * (row + 1)
            if isinstance(item, ExpectRecord):
                self._failed_expect(item, y)
                continue
            self.parts.append(
                f'<text class="tick" x="{_LEFT - 8}" y="{y + 4}" text-anchor="end">'
                f"{item.t * 1000:.1f}</text>"
            )
            self._event(item, y)
        return (
            f'<svg width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-label="sequence diagram">{_defs()}{"".join(self.parts)}</svg>'
        )

    def _frame(self) -> None:
        bottom = self.height - 10
        box = min(180, self.gap - 16)
        self.parts.append(
            f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>'
            f'<text class="tick" x="{_LEFT - 8}" y="{_TOP}" text-anchor="end">ms</text>'
        )
        for i, (name, sub) in enumerate(self.heads):
            x = self.x(i)
            self.parts.append(
                f'<rect class="head" x="{x - box // 2}" y="8" width="{box}" height="44" rx="4"/>'
                f'<text x="{x}" y="26" text-anchor="middle">{_e(name)}</text>'
                f'<text x="{x}" y="43" text-anchor="middle">{_e(sub[: box // 7])}</text>'
                f'<line class="life" x1="{x}" y1="52" x2="{x}" y2="{bottom}"/>'
            )
        for conn in self.lanes:
            rows = [i for i, r in enumerate(self.rows) if isinstance(r, Event) and r.conn == conn]
            if rows:
                y1, y2 = (_TOP + _ROW * (r + 1) for r in (rows[0], rows[-1]))
                self.parts.append(
                    f'<rect class="bar" x="{self.lane_x(conn) - 3}" y="{y1}" '
                    f'width="6" height="{y2 - y1}"/>'
                )

    def _failed_expect(self, record: ExpectRecord, y: int) -> None:
        """A red band across the diagram, a cross on the lane, and what was missing."""
        x = self.lane_x(record.conn)
        text = _failure_label(record)
        wide = _label_width(record)
        if x + 12 + wide <= self.width - 10:
            label = f'x="{x + 12}"'
        elif x - 12 - wide >= _LEFT + 4:
            label = f'x="{x - 12}" text-anchor="end"'
        else:
            label = f'x="{_LEFT + 8}"'
        self.parts.append(
            f'<g id="diagram-step-{record.step}"><title>{_e(text)}</title>'
            f'<rect class="failband" x="{_LEFT + 2}" y="{y - _ROW // 2 + 2}" '
            f'width="{self.width - _LEFT - 24}" height="{_ROW - 4}"/>'
            f'<text class="tick fail" x="{_LEFT - 8}" y="{y + 4}" text-anchor="end">✗</text>'
            f'<circle class="failmark" cx="{x}" cy="{y}" r="7"/>'
            f'<text class="fail" {label} y="{y + 4}">{_e(text)}</text></g>'
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


def _failure_label(record: ExpectRecord) -> str:
    return f"✗ step {record.step}: c{record.conn} {shortfall(record)}"


def _label_width(record: ExpectRecord) -> int:
    return round(len(_failure_label(record)) * _CHAR)


def render_diagram(replay: Replay, rows: list[Row]) -> str:
    """The ``<svg>`` element of ``rows`` (from :func:`diagram_rows`)."""
    return _Diagram(replay, rows).render()
