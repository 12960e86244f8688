"""The HTML report of ``wirefault show --html``: one self-contained file with an SVG diagram."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from show_replays import busy_file, events_replay, two_conns

from wirefault.replay import load_replay
from wirefault.report.html import render_html
from wirefault.report.sequence import diagram_rows, render_diagram
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


def _busy_page(tmp_path: Path) -> str:
    return render_html(load_replay(busy_file(tmp_path)))


def test_the_expects_that_stopped_short_are_listed_first_and_linked(tmp_path: Path) -> None:
    page = _busy_page(tmp_path)
    where = page[page.index('<section class="where">') : page.index("</section>")]
    assert '<a href="#step-12">step 12</a>, c3: expected 1 frame(s), got 0: timed out' in where
    assert '<a href="#step-15">step 15</a>, c4: expected 2 frame(s), got 1: the server' in where
    assert '<a href="#diagram-step-12">in the diagram</a>' in where
    assert "step 6" not in where  # an Expect that got what it waited for


def test_failed_steps_and_expect_rows_are_marked(tmp_path: Path) -> None:
    tags = _tags(_busy_page(tmp_path))
    failed_items = [a.get("id") for tag, a in tags if tag == "li" and a.get("class") == "fail"]
    assert failed_items == ["step-12", "step-15"]
    steps = [a.get("id") for tag, a in tags if tag == "li" and (a.get("id") or "").startswith("s")]
    assert steps == [f"step-{i}" for i in range(16)]
    failed_rows = [a for tag, a in tags if tag == "tr" and a.get("class") == "fail"]
    assert len(failed_rows) == 4  # two in the Expects table, two in the Events table


def test_the_diagram_marks_where_each_failed_expect_ended(tmp_path: Path) -> None:
    page = _busy_page(tmp_path)
    svg = page[page.index("<svg") : page.index("</svg>")]
    groups = [a.get("id") for tag, a in _tags(svg) if tag == "g" and a.get("id")]
    assert groups == ["diagram-step-12", "diagram-step-15"]
    # c3's mark comes after its send and before the pause; c4's after its EOF.
    assert svg.index(">6B &#x27;PING\\r\\n&#x27;</text>") < svg.index('id="diagram-step-12"')
    assert svg.index('id="diagram-step-12"') < svg.index("pause 0.05s")
    assert svg.index("FIN (EOF from server)") < svg.index('id="diagram-step-15"')


def test_a_failure_with_every_expect_ok_says_so(tmp_path: Path) -> None:
    page = render_html(two_conns(tmp_path))
    assert "Every Expect step got what it waited for" in page
    assert 'class="fail"' not in page


def test_script_from_the_file_stays_inert_everywhere(tmp_path: Path) -> None:
    page = _busy_page(tmp_path)
    assert not [tag for tag, _ in _tags(page) if tag == "script"]
    assert "<script" not in page
    assert "<title>wirefault: pipelining&lt;script&gt;alert(2)&lt;/script&gt;</title>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the message and the payload


def test_a_crowded_diagram_is_drawn_to_fit_a_1400_pixel_window(tmp_path: Path) -> None:
    replay = load_replay(busy_file(tmp_path))
    svg = render_diagram(replay, diagram_rows(replay, []))
    (attrs,) = [a for tag, a in _tags(svg) if tag == "svg"]
    assert int(attrs["width"] or 0) <= 1280  # seven lifelines, drawn closer together
    assert "max-width: 100%" in _busy_page(tmp_path)  # and scaled down past that


def test_an_outcome_from_the_file_is_escaped_in_every_failure_mark(tmp_path: Path) -> None:
    path = busy_file(tmp_path)
    text = path.read_text(encoding="utf-8").replace('"eof"', '"<script>alert(3)</script>"')
    path.write_text(text, encoding="utf-8")
    page = render_html(load_replay(path))
    assert not [tag for tag, _ in _tags(page) if tag == "script"]
    assert page.count("&lt;script&gt;alert(3)&lt;/script&gt;") >= 5  # list, step, 2 rows, diagram
