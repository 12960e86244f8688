"""A fuzz run writes nothing outside ``--out``: no ``.hypothesis`` in the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_support import serve, wirefault

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow


def _fuzz_buggy_line_server(cwd: Path, *extra: str) -> None:
    """A short run that fails, so it writes a replay file and the example database.

    Not seeded: Hypothesis keeps no example database under a seed.
    """
    done = wirefault(
        "fuzz",
        "tcp://127.0.0.1:0",
        "--codec",
        "line",
        "--start",
        serve("buggy-first-frame-only"),
        "--properties",
        "pipelining",
        "--max-examples",
        "20",
        "--shrink-budget",
        "2",
        "--backend",
        "none",
        "-q",
        *extra,
        cwd=cwd,
    )
    assert done.returncode == 1, done.stdout + done.stderr


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_a_run_in_an_empty_directory_leaves_only_the_out_folder(tmp_path: Path) -> None:
    _fuzz_buggy_line_server(tmp_path)
    assert os.listdir(tmp_path) == ["wirefault-out"]
    out = _tree(tmp_path / "wirefault-out")
    assert any(p.startswith(".hypothesis/examples/") for p in out), sorted(out)
    # Hypothesis's other files (its local-constants cache, when wirefault's sources
    # are local, as in a checkout) live beside the examples; the rest are replay files.
    assert all(p.startswith(".hypothesis") or p.endswith(".json") for p in out), sorted(out)


def test_an_out_folder_elsewhere_leaves_the_working_directory_untouched(tmp_path: Path) -> None:
    cwd, out = tmp_path / "cwd", tmp_path / "results"
    cwd.mkdir()
    _fuzz_buggy_line_server(cwd, "--out", str(out))
    assert os.listdir(cwd) == []
    assert (out / ".hypothesis" / "examples").is_dir()
