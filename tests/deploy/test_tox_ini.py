"""tox.ini: every environment documented, every CPython of the matrix found or reported."""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    return parser


def _env_list() -> list[str]:
    return [name.strip() for name in _tox()["tox"]["env_list"].split(",")]


def _all_envs() -> set[str]:
    sections = {s.split(":", 1)[1] for s in _tox().sections() if s.startswith("testenv:")}
    return set(_env_list()) | sections


def _python_envs() -> list[str]:
    return [name for name in _env_list() if re.fullmatch(r"py3\d+", name)]


def _tables(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = markdown.find("\n## ", start + len(heading))
    return markdown[start : end if end != -1 else None]


def test_every_tox_environment_is_in_plugin_md() -> None:
    section = _tables((ROOT / "docs" / "PLUGIN.md").read_text(), "## wirefault's own tox")
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([\w-]+)`", row.split("|")[1])}
    assert documented == _all_envs()


def test_each_python_env_lets_pyenv_run_its_version() -> None:
    set_env = _tox()["testenv"]["set_env"]
    for env in _python_envs():
        version = f"3.{env[3:]}"
        assert re.search(rf"^{env}: PYENV_VERSION = {re.escape(version)}$", set_env, re.M), env


def test_interpreters_runs_last_and_checks_every_python_env() -> None:
    tox = _tox()
    assert _env_list()[-1] == "interpreters"
    section = tox["testenv:interpreters"]
    assert section["commands"].split()[-len(_python_envs()) :] == _python_envs()
    assert [d.strip() for d in section["depends"].split(",")] == _python_envs()
    assert "tox-uv" in tox["tox"]["requires"]


def _check_interpreters() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_interpreters", ROOT / "scripts" / "check_interpreters.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `uv` first on PATH that finds CPython 3.10 and 3.11 only, as pyenv would."""
    uv = tmp_path / "uv"
    uv.write_text(
        "#!/bin/sh\n"
        'case "$PYENV_VERSION" in\n'
        '  3.10|3.11) echo "/fake/versions/$PYENV_VERSION/bin/python$PYENV_VERSION" ;;\n'
        '  *) echo "error: No interpreter found" >&2; exit 2 ;;\n'
        "esac\n"
    )
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return uv


def test_all_found_is_a_success(fake_uv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check_interpreters().main(["py310", "py311"]) == 0
    out = capsys.readouterr().out
    assert "CPython 3.10: /fake/versions/3.10/bin/python3.10" in out


def test_a_missing_version_fails_with_how_to_get_it(
    fake_uv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check_interpreters().main(["py310", "py311", "py312", "slow"]) == 1
    out = capsys.readouterr().out
    assert "CPython 3.12: NOT FOUND: tox skips py312" in out
    assert "uv python install 3.12" in out
    assert "tox -e py310,py311,lint,type" in out


def test_without_311_the_slow_tests_are_suggested_on_their_own(
    fake_uv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check_interpreters().main(["py310", "py313"]) == 1
    assert "tox -e py310,slow,lint,type" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell script as the fake uv")
def test_the_version_reaches_pyenv_through_the_environment(fake_uv: Path) -> None:
    assert _check_interpreters().find("3.11") == "/fake/versions/3.11/bin/python3.11"
    assert _check_interpreters().find("3.12") is None


def test_py311_runs_everything_and_the_others_name_real_folders() -> None:
    commands = _tox()["testenv"]["commands"]
    (full,) = [line for line in commands.splitlines() if line.strip().startswith("py311:")]
    assert "-m" not in full.split() and "{posargs:tests}" in full
    paths = _tox()["portable"]["paths"].split()
    assert paths and all((ROOT / path).is_dir() and path.startswith("tests/") for path in paths)
    assert "!py311:" in commands and "{[portable]paths}" in commands
