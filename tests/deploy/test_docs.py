"""The docs a newcomer follows: links that lead somewhere, commands that keep working."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    lines = page.read_text(encoding="utf-8").splitlines()
    return {_anchor(line.lstrip("#")) for line in lines if line.startswith("#")}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} leads nowhere"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: no heading for #{anchor}"


def test_readme_and_cli_md_lead_to_the_real_servers_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cli = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    assert "](docs/REAL_SERVERS.md)" in readme
    assert "](docs/GETTING_STARTED.md)" in readme
    assert "](REAL_SERVERS.md#fuzzing-nginx)" in cli  # where the nginx configuration is


def test_every_documented_redis_start_command_leaves_no_files_behind() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for command in re.findall(r'--start\s+\\?\s*"(redis-server[^"]*)"', text):
            assert "--save ''" in command and "--dir " in command, (page.name, command)


def _replay() -> dict[str, object]:
    """A small replay file, as a fuzz run of the README's line server writes them."""
    return {
        "wirefault_replay": 1,
        "property": "pipelining",
        "message": "pipelining: one by one got 2 response(s), pipelined got 1",
        "codec": {"name": "line", "options": {}},
        "target": {"address": "tcp://127.0.0.1:4000", "start": None},
        "scenario": {"toxics": [], "steps": [{"op": "send", "conn": 0, "chunks": ["a\\n"]}]},
        "transcript": {"events": [{"t": 0.001, "what": "open", "conn": 0}]},
    }


def _readme_loop() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("## Fuzz, replay, show") :]
    block = block[block.index("```sh") + 5 : block.index("```", block.index("```sh") + 5)]
    return [line for line in block.splitlines() if line.startswith("wirefault ")]


def test_the_readme_show_line_works_after_any_number_of_runs(tmp_path: Path) -> None:
    """Two runs' replay files: the show line, run by a shell as typed, writes both reports."""
    (show,) = [line for line in _readme_loop() if line.startswith("wirefault show ")]
    out = tmp_path / "wirefault-out"
    out.mkdir()
    names = ["pipelining-line-20261123-130101", "pipelining-line-20261124-090000"]
    for name in names:
        (out / f"{name}.json").write_text(json.dumps(_replay()), encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        ["bash", "-c", show],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in names:
        assert (tmp_path / "wirefault-out" / f"{name}.html").is_file()
        assert (tmp_path / "wirefault-out" / f"{name}.pcap").is_file()


def test_the_readme_replay_line_needs_no_start_command() -> None:
    (replay,) = [line for line in _readme_loop() if line.startswith("wirefault replay ")]
    assert "--start" not in replay


def test_the_readme_fuzz_line_names_the_files_the_other_lines_glob() -> None:
    fuzz, replay, show = (
        next(line for line in _readme_loop() if line.startswith(f"wirefault {cmd} "))
        for cmd in ("fuzz", "replay", "show")
    )
    assert "--codec line" in fuzz
    assert "wirefault-out/pipelining-line-*.json" in replay
    assert "wirefault-out/pipelining-line-*.json" in show
