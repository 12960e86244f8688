"""docs/CLI.md's redis command, run as documented: it leaves no file behind.

redis-server saves a snapshot (``dump.rdb``) in its working directory when it is
stopped, unless told not to. A server started by ``wirefault fuzz --start`` runs in
the directory wirefault runs in: without the documented flags, a fuzz run leaves
``dump.rdb`` there (checked first, so that the test can fail).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from peers_support import need_binary

# Whole (one-example) fuzz runs against a real server: once per tox run (`slow`).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _documented_commands() -> list[str]:
    """The shell lines of CLI.md's redis block, continuation lines joined."""
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    section = text[text.index("## Real servers") :]
    block = section[section.index("```sh") + 5 : section.index("```", section.index("```sh") + 5)]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _run(command: str, cwd: Path, redis_dir: Path) -> subprocess.CompletedProcess[str]:
    """One documented line, run by bash in ``cwd``, short, with the redis directory moved."""
    command = command.replace("/tmp/wf-redis", str(redis_dir))
    if command.startswith("wirefault fuzz"):
        command += " --properties liveness --backend none"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=dict(os.environ, PATH=path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_the_flags_redis_leaves_a_snapshot_in_the_working_directory(
    tmp_path: Path,
) -> None:
    need_binary("redis-server", "redis-server")
    (fuzz,) = [c for c in _documented_commands() if c.startswith("wirefault fuzz")]
    bare = re.sub(r" --save '' --appendonly no --dir [^\s\"]+", "", fuzz)
    assert bare != fuzz
    done = _run(bare, tmp_path, tmp_path / "unused")
    assert done.returncode == 0, done.stderr
    assert "dump.rdb" in os.listdir(tmp_path)


def test_the_documented_command_leaves_only_the_out_folder(tmp_path: Path) -> None:
    need_binary("redis-server", "redis-server")
    cwd, redis_dir = tmp_path / "cwd", tmp_path / "wf-redis"
    cwd.mkdir()
    for command in _documented_commands():
        done = _run(command, cwd, redis_dir)
        assert done.returncode == 0, (command, done.stderr)
    assert set(os.listdir(cwd)) <= {"wirefault-out"}  # no dump.rdb, no .hypothesis
    assert os.listdir(redis_dir) == []
