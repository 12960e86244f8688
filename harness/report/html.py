"""A replay file as one self-contained HTML page with an SVG sequence diagram.

Pure: a :class:`~wirefault.replay.Replay` in, a string out. The page needs
nothing else: CSS and SVG are inline, there is no script and no external
reference. Every piece of user data (payload previews, messages, commands,
toxic names) goes through :func:`html.escape`.

The sequence diagram is :mod:`wirefault.report.sequence`'s.

Where the failure shows is marked in red: each Expect step that stopped short
(a timeout, the server's close or reset, garbage) in a "Where it failed" list
under the header, in the scenario, in the Expects table, and as a row of the
diagram and the Events table where it ended (when that can be told for sure,
see :mod:`wirefault.report.expects`).

The page fits a 1400-pixel window: lifelines are drawn closer together when
there are many (and the diagram scales down past that), long values wrap
anywhere, and the Events table has fixed columns.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from wirefault.replay import Replay
from wirefault.report.expects import ExpectRecord, expect_records, shortfall
from wirefault.report.sequence import SVG_CSS, Row, diagram_rows, render_diagram
from wirefault.report.timeline import END_NAMES, escape_preview, header_fields

__all__ = ["render_html"]

_TITLE = 400  # characters of payload preview in the Events table

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d1d1f; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dt { font-weight: 600; } dd { margin: 0; font-family: ui-monospace, monospace; }
code, td { font-family: ui-monospace, monospace; font-size: 13px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; }
th { background: #f3f3f3; text-align: left; } .bad { color: #b00020; }
dd, li code, td { overflow-wrap: anywhere; }
.diagram { overflow-x: auto; border: 1px solid #ddd; padding: 4px; }
.diagram svg { max-width: 100%; height: auto; }
table.events { table-layout: fixed; width: 100%; }
table.events col.ms { width: 6em; } table.events col.conn { width: 4em; }
table.events col.event { width: 8em; } table.events col.bytes { width: 6em; }
.where { border-left: 5px solid #c62828; background: #fdecea; padding: .4em 1em; }
.where h2 { margin-top: .3em; color: #b00020; } .where a { color: #b00020; }
li.fail, tr.fail td { background: #fdecea; } li.fail code, tr.fail td { color: #b00020; }
li.fail { border-left: 4px solid #c62828; padding-left: .4em; } .why { font-weight: 600; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(head: Iterable[str], rows: Iterable[tuple[Iterable[object], bool]]) -> str:
    """A table; rows are (cells, failed), a failed row marked in red."""
    out = ["<table><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr>"]
    for cells, failed in rows:
        css = ' class="fail"' if failed else ""
        out.append(f"<tr{css}>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _records(replay: Replay, key: str) -> list[Mapping[str, Any]]:
    records = replay.transcript_json.get(key, [])
    return [r for r in records if isinstance(r, Mapping)] if isinstance(records, list) else []


def _where_it_failed(failed: list[ExpectRecord], placed: set[int]) -> str:
    """The list of Expect steps that stopped short, linked to the scenario and the diagram."""
    out = ['<section class="where"><h2>Where it failed</h2>']
    if not failed:
        out.append(
            "<p>Every Expect step got what it waited for: the property judged what the "
            "connections received (see the message above).</p></section>"
        )
        return "".join(out)
    out.append("<ul>")
    for r in failed:
        seen = f' (<a href="#diagram-step-{r.step}">in the diagram</a>)' if r.step in placed else ""
        out.append(
            f'<li><a href="#step-{r.step}">step {r.step}</a>, c{r.conn}: '
            f"{_e(shortfall(r))}{seen}</li>"
        )
    out.append("</ul></section>")
    return "".join(out)


def _scenario(replay: Replay, failed: dict[int, ExpectRecord]) -> str:
    out = ['<ol start="0">']
    for i, step in enumerate(replay.scenario.steps):
        record = failed.get(i)
        css = ' class="fail"' if record else ""
        why = f' <span class="why">✗ {_e(shortfall(record))}</span>' if record else ""
        out.append(f'<li id="step-{i}"{css}><code>{_e(step.describe())}</code>{why}</li>')
    out.append("</ol>")
    return "".join(out)


def _connections(replay: Replay) -> str:
    return _table(
        ("conn", "end", "sent", "received", "frames", "notes"),
        (
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
                ),
                False,
            )
            for r in _records(replay, "connections")
        ),
    )


def _expects(records: list[ExpectRecord]) -> str:
    return _table(
        ("step", "conn", "wanted", "got", "outcome", "elapsed"),
        (
            (
                (
                    r.step,
                    f"c{r.conn}",
                    "close" if r.wanted < 0 else r.wanted,
                    r.got,
                    f"✗ {r.outcome}" if r.failed else r.outcome,
                    f"{r.elapsed * 1000:.1f} ms",
                ),
                r.failed,
            )
            for r in records
        ),
    )


def _events(rows: list[Row]) -> str:
    out = [
        '<table class="events"><colgroup><col class="ms"><col class="conn"><col class="event">'
        '<col class="bytes"><col></colgroup>'
        "<tr><th>ms</th><th>conn</th><th>event</th><th>bytes</th><th>data / detail</th></tr>"
    ]
    for row in rows:
        if isinstance(row, ExpectRecord):
            text = f"step {row.step} (Expect) ended here: {shortfall(row)}"
            out.append(
                f'<tr class="fail"><td>✗</td><td>c{row.conn}</td>'
                f'<td colspan="3">{_e(text)}</td></tr>'
            )
            continue
        detail = escape_preview(row.data, _TITLE) if row.data else row.detail
        cells = (
            f"{row.t * 1000:.1f}",
            "" if row.conn is None else f"c{row.conn}",
            row.what,
            len(row.data) if row.data else "",
            detail,
        )
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _sections(replay: Replay) -> Iterable[str]:
    records = expect_records(replay)
    failed = [r for r in records if r.failed]
    rows = diagram_rows(replay, failed)
    placed = {r.step for r in rows if isinstance(r, ExpectRecord)}
    yield f"<h1>wirefault replay: {_e(replay.property)}</h1><dl>"
    for label, value in header_fields(replay):
        yield f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>"
    yield "</dl>"
    yield _where_it_failed(failed, placed)
    yield "<h2>Toxics</h2>"
    toxics = replay.scenario.toxics
    yield "<ul>" + "".join(f"<li><code>{_e(t.describe())}</code></li>" for t in toxics) + "</ul>"
    if not toxics:
        yield "<p>none for the whole scenario</p>"
    yield "<h2>Scenario</h2>"
    yield _scenario(replay, {r.step: r for r in failed})
    yield "<h2>Sequence diagram</h2>"
    if replay.events:
        yield f'<div class="diagram">{render_diagram(replay, rows)}</div>'
    else:
        yield "<p>No events were recorded.</p>"
    yield "<h2>Connections</h2>"
    yield _connections(replay)
    if records:
        yield "<h2>Expects</h2>"
        yield _expects(records)
    yield "<h2>Events</h2>"
    yield _events(rows)


def render_html(replay: Replay) -> str:
    """The whole report of ``replay`` as one self-contained HTML document."""
    body = "".join(_sections(replay))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>wirefault: {_e(replay.property)}</title><style>{_CSS}{SVG_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
