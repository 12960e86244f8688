"""docs/GETTING_STARTED.md, followed: its servers, its commands, its findings, its fixes.

The page's code blocks are read from the page itself: each server file (a
``python`` block whose docstring starts with its file name), the commands of its
``sh`` blocks, the ``FAIL`` lines of its first ``text`` block, and each fix (a
``python`` block defining one function, which replaces the function of that name).
The campaigns run with ``--shrink-budget 5`` added, to keep the suite fast: the
page's runs shrink for as long as they need.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "GETTING_STARTED.md"
SERVERS = ("A TCP server", "A UDP server", "An HTTP server")
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


@dataclass(frozen=True)
class Section:
    """One server's part of the page."""

    file_name: str
    server: str
    fix: str
    commands: list[str]
    failing: list[str]


def _section(title: str) -> Section:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    blocks = _BLOCK.findall(text[start:end])
    python = [code for kind, code in blocks if kind == "python"]
    server, fix = python[0], python[1]
    match = re.match(r'"""(\w+\.py):', server)
    assert match, f"{title}: the server block must start with its file name"
    commands = [line for kind, code in blocks if kind == "sh" for line in code.splitlines()]
    expected = next(code for kind, code in blocks if kind == "text")
    failing = re.findall(r"^FAIL (\S+)", expected, re.M)
    return Section(match.group(1), server, fix, commands, failing)


def _apply_fix(source: str, fix: str) -> str:
    """``source`` with the function the fix defines replaced by the fix."""
    name = re.search(r"def (\w+)\(", fix)
    assert name, "a fix is one function"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name[1]:
            lines = source.splitlines(keepends=True)
            assert node.end_lineno is not None
            return "".join([*lines[: node.lineno - 1], fix, *lines[node.end_lineno :]])
    raise AssertionError(f"the page fixes {name[1]}, which its server does not define")


@pytest.mark.parametrize("title", SERVERS)
def test_every_snippet_is_python_and_every_fix_fits_its_server(title: str) -> None:
    section = _section(title)
    ast.parse(section.server)
    fixed = _apply_fix(section.server, section.fix)
    ast.parse(fixed)
    assert "BUG" in section.server and "BUG" not in fixed
    assert section.failing, f"{title}: the page shows no FAIL line"
    assert any(c.startswith("wirefault fuzz ") for c in section.commands)


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command of the page as a shell would, with this wirefault and python first."""
    if command.startswith("wirefault fuzz "):
        command += " --shrink-budget 5"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("title", SERVERS)
def test_following_the_page_finds_the_bug_and_the_fix_passes(title: str, tmp_path: Path) -> None:
    section = _section(title)
    server = tmp_path / section.file_name
    server.write_text(section.server, encoding="utf-8")
    fuzz = next(c for c in section.commands if c.startswith("wirefault fuzz "))

    found = _run(fuzz, tmp_path)
    assert found.returncode == 1, found.stdout + found.stderr
    for prop in section.failing:
        assert re.search(rf"^FAIL {prop} ", found.stdout, re.M), (prop, found.stdout)
    for command in section.commands:
        if command.startswith(("wirefault show ", "wirefault replay ")):
            done = _run(command, tmp_path)
            expected = 1 if command.startswith("wirefault replay ") else 0  # reproduced
            assert done.returncode == expected, (command, done.stdout + done.stderr)
    assert sorted(os.listdir(tmp_path)) == sorted([section.file_name, "wirefault-out"])

    server.write_text(_apply_fix(section.server, section.fix), encoding="utf-8")
    fixed = _run(fuzz + " --max-examples 25", tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
