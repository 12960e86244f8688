"""The text timeline of ``wirefault show``: header, scenario, one lane per connection."""

from __future__ import annotations

from pathlib import Path

from show_replays import busy_file, events_replay, two_conns

from wirefault.replay import load_replay
from wirefault.report.timeline import escape_preview, render_timeline
from wirefault.transcript import Event


def _timeline_rows(text: str) -> list[str]:
    """The lines of the timeline section, its column titles first."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("timeline")) + 1
    end = lines.index("", start)
    return lines[start:end]


def _lane(row: str, index: int) -> str:
    """The text of lane ``index`` (0 = first connection) in a timeline row."""
    parts = row.split("│") + [""] * (index + 2)
    return parts[index + 1].strip()


def test_header_names_property_target_codec_backend_and_agreement(tmp_path: Path) -> None:
    text = render_timeline(two_conns(tmp_path))
    assert "property:  reassembly" in text
    assert "sent whole got" in text
    assert "tcp://127.0.0.1:4000" in text
    assert "codec:     raw" in text
    assert "backend:   embedded" in text
    assert "reproduced in 3 of 3 replays" in text


def test_toxics_and_scenario_steps_are_listed(tmp_path: Path) -> None:
    text = render_timeline(two_conns(tmp_path))
    assert "latency(latency=20, jitter=0) downstream" in text
    assert "c0 send 5B as [5] b'hello'" in text
    assert "c1 abort (RST)" in text


def test_each_connection_has_its_own_lane(tmp_path: Path) -> None:
    rows = _timeline_rows(render_timeline(two_conns(tmp_path)))
    assert _lane(rows[0], 0) == "c0"
    assert _lane(rows[0], 1) == "c1"
    opens = [r for r in rows if "open" in r]
    assert _lane(opens[0], 0) == "open"
    assert _lane(opens[1], 0) == ""
    assert _lane(opens[1], 1) == "open"


def test_send_recv_eof_and_abort_are_drawn_in_their_lanes(tmp_path: Path) -> None:
    rows = _timeline_rows(render_timeline(two_conns(tmp_path)))
    cells = [(_lane(r, 0), _lane(r, 1)) for r in rows[1:] if "│" in r]
    assert ("→ 5B 'hello'", "") in cells
    assert ("← 8B 'OK hello'", "") in cells
    assert ("←EOF", "") in cells
    assert ("", "RST→") in cells
    assert ("", "→ 25B '<script>alert(1)</script>'") in cells


def test_times_are_in_milliseconds_at_the_left(tmp_path: Path) -> None:
    rows = _timeline_rows(render_timeline(two_conns(tmp_path)))
    send = next(r for r in rows if "'hello'" in r)
    assert send.split(" │ ")[0].strip() == "1.0"


def test_pauses_span_every_lane(tmp_path: Path) -> None:
    rows = _timeline_rows(render_timeline(two_conns(tmp_path)))
    pause = next(r for r in rows if "pause" in r)
    assert "├── pause 0.01s" in pause
    assert "│" not in pause


def test_connection_ends_close_the_report(tmp_path: Path) -> None:
    text = render_timeline(two_conns(tmp_path))
    tail = text[text.index("connections:") :]
    assert "c0: the server closed it (EOF); sent 5B, received 8B" in tail
    assert "c1: we reset it (RST); sent 25B" in tail


def test_rows_fit_the_width_and_long_payloads_are_cut(tmp_path: Path) -> None:
    replay = events_replay(tmp_path, [Event(0.0, "open", 0), Event(0.1, "send", 0, b"x" * 500)])
    for width in (40, 60, 100):
        rows = _timeline_rows(render_timeline(replay, width=width))
        assert all(len(r) <= width for r in rows), width
        assert any("…'" in r for r in rows)


def test_control_events_have_short_names(tmp_path: Path) -> None:
    events = [
        Event(0.0, "refused", 0, detail="refused"),
        Event(0.1, "half_close", 1),
        Event(0.2, "rst", 1),
        Event(0.3, "send_blocked", 2, detail="4096/9000B"),
        Event(0.4, "garbage", 2, detail="bad length prefix"),
        Event(0.5, "toxic_add", detail="timeout(timeout=0) upstream"),
    ]
    text = render_timeline(events_replay(tmp_path, events), width=140)
    for expected in (
        "refused",
        "|shut-wr",
        "←RST",
        "send blocked 4096/9000B",
        "garbage: bad length prefix",
        "├── +toxic timeout(timeout=0) upstream",
    ):
        assert expected in text


def test_preview_escapes_control_bytes_and_quotes() -> None:
    assert escape_preview(b"a\r\n\x00'\\", 40) == "'a\\r\\n\\x00\\'\\\\'"


def test_preview_is_cut_with_an_ellipsis_inside_the_limit() -> None:
    preview = escape_preview(b"OK hello world", 10)
    assert preview == "'OK hell…'"
    assert len(preview) == 10


def test_a_replay_without_events_says_so(tmp_path: Path) -> None:
    text = render_timeline(events_replay(tmp_path, []))
    assert "timeline: no events recorded" in text
    assert "connections: none recorded" in text


def test_the_header_says_when_the_play_happened_in_utc(tmp_path: Path) -> None:
    replay = events_replay(tmp_path, [Event(0.0, "open", 0)], started=1_795_000_000.5)
    assert "played:    2026-11-18 11:06:40 UTC" in render_timeline(replay)


def test_an_old_file_without_a_start_time_has_no_played_line(tmp_path: Path) -> None:
    replay = events_replay(tmp_path, [Event(0.0, "open", 0)])
    assert "played:" not in render_timeline(replay)


def test_expects_that_stopped_short_are_marked_in_the_scenario_and_the_timeline(
    tmp_path: Path,
) -> None:
    text = render_timeline(load_replay(busy_file(tmp_path)), width=140)
    assert "  12. c3 expect 1 frame(s)   ✗ expected 1 frame(s), got 0: timed out after" in text
    assert "   6. c0 expect 1 frame(s)\n" in text  # got what it waited for: no mark
    rows = text.splitlines()
    mark = next(i for i, r in enumerate(rows) if "✗ ├── c3 step 12:" in r)
    assert "→ 6B 'PING\\r\\n'" in rows[mark - 1]
    assert "pause 0.05s" in rows[mark + 1]
    last = rows.index("connections:") - 2  # the timeline's last row, before a blank line
    assert rows[last].lstrip().startswith("✗ ├── c4 step 15: expected 2 frame(s), got 1: the")
