"""The HTML report of ``wirefault show --html``: one self-contained file with an SVG diagram."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from show_replays import events_replay, two_conns

from wirefault.report.html import render_html
from wirefault.transcript import Event


class _Tags(HTMLParser):
    """Collects start tags and their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def test_is_one_html_document_with_an_inline_svg(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1
    assert page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1
    assert "<style>" in page


def test_payload_bytes_are_escaped(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not [tag for tag, _ in _tags(page) if tag == "script"]


def test_has_no_external_references(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert 'src="http' not in page
    assert 'href="http' not in page
    for tag, attrs in _tags(page):
        assert tag not in ("script", "link", "img", "iframe")
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    assert "@import" not in page
    assert not re.search(r"url\((?!#)", page)


def test_has_a_lifeline_per_connection_plus_proxy_and_server(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    for head in ("client c0", "client c1", "fault proxy", "server", "tcp://127.0.0.1:4000"):
        assert f">{head}</text>" in page
    lifelines = [a for tag, a in _tags(page) if tag == "line" and a.get("class") == "life"]
    assert len(lifelines) == 4


def test_no_proxy_lifeline_without_toxics(tmp_path: Path) -> None:
    page = render_html(events_replay(tmp_path, [Event(0.0, "open", 0)]))
    assert "fault proxy" not in page
    lifelines = [a for tag, a in _tags(page) if tag == "line" and a.get("class") == "life"]
    assert len(lifelines) == 2


def test_arrows_are_labelled_with_byte_counts_and_previews(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert ">5B &#x27;hello&#x27;</text>" in page
    assert ">8B &#x27;OK hello&#x27;</text>" in page
    arrows = [
        a.get("class")
        for tag, a in _tags(page)
        if tag == "line" and "arrow" in (a.get("class") or "")
    ]
    assert arrows.count("arrow data") == 3
    assert "arrow rst" in arrows
    assert "arrow fin" in arrows


def test_fin_rst_and_time_axis_are_marked(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert "FIN (EOF from server)" in page
    assert "RST (we abort)" in page
    assert ">16.0</text>" in page
    assert "pause 0.01s" in page


def test_header_and_scenario_are_included(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert "reassembly" in page
    assert "reproduced in 3 of 3 replays" in page
    assert "latency(latency=20, jitter=0) downstream" in page
    assert "c1 abort (RST)" in page


def test_markers_for_blocked_sends_and_garbage(tmp_path: Path) -> None:
    events = [
        Event(0.0, "open", 0),
        Event(0.1, "send_blocked", 0, detail="4096/9000B"),
        Event(0.2, "garbage", 0, detail="expected <CRLF>"),
    ]
    page = render_html(events_replay(tmp_path, events))
    assert "send blocked 4096/9000B" in page
    assert "garbage: expected &lt;CRLF&gt;" in page
