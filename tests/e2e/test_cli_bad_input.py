"""Bad input: exit status 2 and one clear line on stderr, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SERVE_LINE = f"{sys.executable} -m wirefault serve line --port {{port}}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def valid_replay() -> dict:
    return {
        "wirefault_replay": 1,
        "property": "pipelining",
        "codec": {"name": "line", "options": {}},
        "target": {"address": f"tcp://127.0.0.1:{closed_port()}", "start": None},
        "scenario": {"toxics": [], "steps": [{"op": "send", "conn": 0, "chunks": ["x\n"]}]},
    }


def dead_socket(tmp: Path) -> str:
    """A unix socket file nothing listens on (what a stopped server leaves behind)."""
    path = tmp / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    return f"unix://{path}"


def regular_file(tmp: Path) -> str:
    path = tmp / "file.sock"
    path.write_text("")
    return f"unix://{path}"


def replay_file(tmp: Path, content: str | dict) -> str:
    path = tmp / "case.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


CASES: list[tuple[str, list[str] | object, str]] = [
    ("no command", [], "required"),
    ("unknown command", ["frobnicate"], "invalid choice"),
    ("fuzz without a target", ["fuzz"], "TARGET"),
    ("target without a port", ["fuzz", "127.0.0.1"], "HOST:PORT"),
    ("target with a bad port", ["fuzz", "127.0.0.1:99999"], "port must be"),
    ("target with a bad scheme", ["fuzz", "sctp://127.0.0.1:1"], "unknown scheme"),
    ("port 0 without --start", ["fuzz", "127.0.0.1:0"], "needs --start"),
    ("unknown codec", ["fuzz", "127.0.0.1:1", "--codec", "morse"], "unknown codec 'morse'"),
    ("misspelt command", ["fuz", "127.0.0.1:1"], "did you mean fuzz?"),
    ("misspelt option", ["fuzz", "127.0.0.1:1", "--codc", "line"], "did you mean --codec?"),
    ("misspelt option=value", ["fuzz", "127.0.0.1:1", "--codc=line"], "did you mean --codec?"),
    ("misspelt codec", ["fuzz", "127.0.0.1:1", "--codec", "lnie"], "did you mean line?"),
    ("misspelt show option", ["show", "a.json", "--widht", "50"], "did you mean --width?"),
    (
        "missing unix socket",
        ["fuzz", "unix:///nonexistent/app.sock"],
        "socket file /nonexistent/app.sock does not exist",
    ),
    ("unix socket nothing listens on", lambda tmp: ["fuzz", dead_socket(tmp)], "nothing accepts"),
    ("unix target that is a file", lambda tmp: ["fuzz", regular_file(tmp)], "not a unix socket"),
    (
        "codec option for another codec",
        ["fuzz", "127.0.0.1:1", "--codec", "lenprefix", "--max-line", "9"],
        "does not apply",
    ),
    (
        "bad header width",
        ["fuzz", "127.0.0.1:1", "--codec", "lenprefix", "--header-bytes", "3"],
        "header",
    ),
    ("unknown property", ["fuzz", "127.0.0.1:1", "--properties", "vibes"], "unknown property"),
    (
        "unknown property with workers",
        ["fuzz", "127.0.0.1:1", "--properties", "vibes", "--workers", "2"],
        "unknown property",
    ),
    (
        "property of another transport",
        ["fuzz", "127.0.0.1:1", "--codec", "line", "--properties", "datagram-reply"],
        "does not apply",
    ),
    (
        "udp target with a stream codec",
        ["fuzz", "udp://127.0.0.1:1", "--codec", "line"],
        "datagram",
    ),
    ("zero deadline", ["fuzz", "127.0.0.1:1", "--deadline", "0"], "> 0"),
    ("non-numeric deadline", ["fuzz", "127.0.0.1:1", "--deadline", "soon"], "number of seconds"),
    ("zero examples", ["fuzz", "127.0.0.1:1", "--max-examples", "0"], ">= 1"),
    ("zero workers", ["fuzz", "127.0.0.1:1", "--workers", "0"], ">= 1"),
    ("unknown backend", ["fuzz", "127.0.0.1:1", "--backend", "magic"], "invalid choice"),
    ("bad probe escape", ["fuzz", "127.0.0.1:1", "--probe", "\\x4"], "bad escape"),
    (
        "unreachable target",
        lambda tmp: ["fuzz", f"127.0.0.1:{closed_port()}", "--backend", "none"],
        "connection refused",
    ),
    (
        "server command that exits at once",
        ["fuzz", "127.0.0.1:0", "--start", "exit 3", "--backend", "none"],
        "exited at once",
    ),
    (
        "server that speaks another protocol",
        ["fuzz", "127.0.0.1:0", "--codec", "http", "--start", SERVE_LINE, "--backend", "none"],
        "does not answer",
    ),
    ("missing replay file", ["replay", "/nonexistent/replay.json"], "does not exist"),
    (
        "replay that is not JSON",
        lambda tmp: ["replay", replay_file(tmp, "not json at all")],
        "not valid JSON",
    ),
    (
        "truncated replay",
        lambda tmp: ["replay", replay_file(tmp, json.dumps(valid_replay())[:60])],
        "truncated",
    ),
    (
        "JSON that is not a replay",
        lambda tmp: ["replay", replay_file(tmp, {"hello": 1})],
        "not a wirefault replay",
    ),
    (
        "replay of another format version",
        lambda tmp: ["replay", replay_file(tmp, {**valid_replay(), "wirefault_replay": 99})],
        "format",
    ),
    (
        "replay with an unknown step",
        lambda tmp: [
            "replay",
            replay_file(tmp, {**valid_replay(), "scenario": {"steps": [{"op": "teleport"}]}}),
        ],
        "unknown op",
    ),
    (
        "replay with an unknown codec",
        lambda tmp: ["replay", replay_file(tmp, {**valid_replay(), "codec": {"name": "morse"}})],
        "morse",
    ),
    (
        "replay with an unknown property",
        lambda tmp: ["replay", replay_file(tmp, {**valid_replay(), "property": "vibes"})],
        "unknown property",
    ),
    (
        "replay against an unreachable target",
        lambda tmp: ["replay", replay_file(tmp, valid_replay())],
        "refused",
    ),
    (
        "replay with zero repeats",
        lambda tmp: ["replay", replay_file(tmp, valid_replay()), "--repeat", "0"],
        ">= 1",
    ),
    ("show of a missing file", ["show", "/nonexistent/replay.json"], "does not exist"),
    (
        "show of several files into one html file",
        lambda tmp: ["show", replay_file(tmp, valid_replay()), "b.json", "--html", "x.html"],
        "names one file",
    ),
    (
        "show with a silly width",
        lambda tmp: ["show", replay_file(tmp, valid_replay()), "--width", "3"],
        "width",
    ),
    ("serve an unknown target", ["serve", "nope"], "unknown target"),
    (
        "proxy with an unknown toxic",
        ["proxy", "--upstream", "127.0.0.1:1", "--toxic", "zap"],
        "unknown toxic",
    ),
    (
        "proxy with a bad toxic attribute",
        ["proxy", "--upstream", "127.0.0.1:1", "--toxic", "latency:latency=fast"],
        "takes int",
    ),
]


@pytest.mark.parametrize(("case", "argv", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_clear_line(case: str, argv, says: str, tmp_path: Path) -> None:
    args = argv(tmp_path) if callable(argv) else argv
    done = subprocess.run(
        [sys.executable, "-m", "wirefault", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, f"{case}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    message = [line for line in done.stderr.splitlines() if line.strip()]
    assert message, f"{case}: no message"
    assert says.lower() in done.stderr.lower(), f"{case}: {done.stderr!r}"
    # The error is one line (argparse may print its usage line before it).
    errors = [line for line in message if "error" in line]
    assert len(errors) == 1, f"{case}: {done.stderr!r}"
