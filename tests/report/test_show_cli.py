"""``wirefault show FILE``: the subcommand, driven through its own parser."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from show_replays import two_conns_file

from wirefault.cli import show
from wirefault.errors import ReplayError, UsageError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="wirefault")
    show.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["show", *argv])


def test_prints_the_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = two_conns_file(tmp_path)
    assert show.run(_args(str(path))) == 0
    out = capsys.readouterr().out
    assert "property:  reassembly" in out
    assert "→ 5B 'hello'" in out


def test_writes_html_and_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = two_conns_file(tmp_path)
    html, pcap = tmp_path / "r.html", tmp_path / "r.pcap"
    assert show.run(_args(str(path), "--html", str(html), "--pcap", str(pcap))) == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert pcap.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")
    err = capsys.readouterr().err
    assert str(html) in err
    assert str(pcap) in err


def test_width_narrows_the_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = two_conns_file(tmp_path)
    show.run(_args(str(path), "--width", "50"))
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "│" in line or "├" in line]
    assert rows
    assert all(len(r) <= 50 for r in rows)


def test_a_too_small_width_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _args("x.json", "--width", "10")
    assert info.value.code == 2
    assert "width >= 40" in capsys.readouterr().err


def test_a_missing_file_is_a_replay_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="does not exist") as info:
        show.run(_args(str(tmp_path / "nope.json")))
    assert info.value.exit_status == 2


def test_a_file_that_is_not_a_replay_is_a_replay_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(ReplayError, match="not a wirefault replay"):
        show.run(_args(str(bad)))


def test_an_unwritable_html_path_is_a_usage_error_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = two_conns_file(tmp_path)
    out = tmp_path / "missing-dir" / "r.html"
    with pytest.raises(UsageError, match="cannot write the HTML report") as info:
        show.run(_args(str(path), "--html", str(out)))
    assert info.value.exit_status == 2
    assert capsys.readouterr().out == ""
