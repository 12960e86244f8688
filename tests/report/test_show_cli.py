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


def _two_files(tmp_path: Path) -> list[Path]:
    """Two replay files in one folder, as two fuzz runs leave them."""
    first = two_conns_file(tmp_path)
    second = first.with_name("pipelining-line-20261123-130101.json")
    second.write_bytes(first.read_bytes())
    return [first, second]


def test_several_files_are_shown_in_turn_each_under_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _two_files(tmp_path)
    assert show.run(_args(str(first), str(second))) == 0
    out = capsys.readouterr().out
    assert out.count("property:  reassembly") == 2
    assert out.index(f"==> {first} <==") < out.index(f"==> {second} <==")


def test_one_file_has_no_header_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    show.run(_args(str(two_conns_file(tmp_path))))
    assert "==>" not in capsys.readouterr().out


def test_a_directory_gets_one_html_and_one_pcap_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _two_files(tmp_path)
    out = tmp_path / "reports"
    argv = [*map(str, files), "--html", f"{out}/", "--pcap", f"{out}/"]
    assert show.run(_args(*argv)) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "pipelining-line-20261123-130101.html",
        "pipelining-line-20261123-130101.pcap",
        "two.html",
        "two.pcap",
    ]
    assert (out / "two.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert capsys.readouterr().err.count("wrote the HTML report") == 2


def test_an_existing_directory_needs_no_trailing_slash(tmp_path: Path) -> None:
    path = two_conns_file(tmp_path)
    assert show.run(_args(str(path), "--html", str(tmp_path))) == 0
    assert (tmp_path / "two.html").is_file()


def test_several_files_and_one_output_file_is_a_usage_error_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _two_files(tmp_path)
    with pytest.raises(UsageError, match=r"2 replay files but --pcap f\.pcap names one file"):
        show.run(_args(*map(str, files), "--pcap", "f.pcap"))
    assert capsys.readouterr().out == ""


def test_a_bad_file_among_several_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = two_conns_file(tmp_path)
    out = tmp_path / "reports"
    with pytest.raises(ReplayError, match="does not exist"):
        show.run(_args(str(good), str(tmp_path / "gone.json"), "--html", f"{out}/"))
    assert not out.exists()
    assert capsys.readouterr().out == ""


def test_two_files_of_the_same_name_would_overwrite_each_other(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = two_conns_file(tmp_path / "a"), two_conns_file(tmp_path / "b")
    with pytest.raises(UsageError, match="would both write"):
        show.run(_args(str(one), str(two), "--html", f"{tmp_path}/"))
