"""`wirefault replay`: files that stand alone, run no foreign code, and come several at once."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import marker_env, pids_with, serve, tiny, wirefault

from wirefault.addresses import parse_address
from wirefault.codecs import get_codec
from wirefault.replay import save_replay
from wirefault.scenario import Expect, Scenario, Send
from wirefault.transcript import Transcript

SERVERS = Path(__file__).parent / "tiny_servers.py"
PING_SERVER = f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVERS))} ping {{port}}"


def signed_file(
    out: Path, *, start: str | None, probe: bytes | None = None, prop: str = "liveness"
) -> Path:
    """A replay file signed with this user's key (the tests' key), as fuzz writes them."""
    return save_replay(
        out,
        prop=prop,
        message=f"{prop}: a failure",
        codec=get_codec("line"),
        address=parse_address("tcp://127.0.0.1:0", allow_zero=True),
        scenario=Scenario(steps=(Send(conn=0, chunks=(b"PING\n",)), Expect(conn=0, count=1))),
        transcript=Transcript(),
        start=start,
        backend=None,
        deadline=1.0,
        seed=None,
        agreement=(3, 3),
        probe=probe,
    )


def edit(path: Path, **target: object) -> None:
    data = json.loads(path.read_text())
    data["target"].update(target)
    path.write_text(json.dumps(data, indent=1))


def test_a_signed_file_runs_its_own_start_command(tmp_path: Path) -> None:
    marker = marker_env()
    path = signed_file(tmp_path, start=f"{marker} {serve('line')}")
    done = wirefault("replay", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # the line server answers: not reproduced
    assert "did not reproduce in 0/1 run(s)" in done.stdout
    assert not pids_with(marker.split("=", 1)[1])  # and it was stopped


def test_an_edited_file_does_not_run_its_command(tmp_path: Path) -> None:
    pwned = tmp_path / "PWNED"
    path = signed_file(tmp_path, start=serve("line"))
    edit(path, start=f"touch {pwned}; {serve('line')}")
    done = wirefault("replay", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert not pwned.exists()
    (line,) = done.stderr.splitlines()
    assert "is not signed by your wirefault" in line and f"touch {pwned}" in line
    assert "--start" in line and "--trust" in line
    # Choosing the server yourself plays the file without its command...
    done = wirefault("replay", str(path), "--start", serve("line"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not pwned.exists()
    # ...and --trust runs it, as asked.
    done = wirefault("replay", str(path), "--trust", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert pwned.exists()


def test_an_edited_file_does_not_import_the_codec_module_it_names(tmp_path: Path) -> None:
    # Importing a module runs its code: a file from elsewhere must not pick one.
    planted = tmp_path / "planted_codec.py"
    pwned = tmp_path / "PWNED"
    planted.write_text(f"open({str(pwned)!r}, 'w').close()\n")
    path = signed_file(tmp_path, start=None)
    data = json.loads(path.read_text())
    data["codec"]["name"] = "planted_codec:Codec"
    path.write_text(json.dumps(data, indent=1))
    # `python -m wirefault` in tmp_path: the planted module is importable from there.
    done = wirefault("replay", str(path), "--target", "127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 2 and not pwned.exists()
    (line,) = done.stderr.splitlines()
    assert "planted_codec:Codec" in line and "--trust" in line


def test_an_unsigned_file_among_several_stops_them_all_before_anything_runs(
    tmp_path: Path,
) -> None:
    pwned = tmp_path / "PWNED"
    good = signed_file(tmp_path / "a", start=f"touch {pwned}; {serve('line')}")
    bad = signed_file(tmp_path / "b", start=serve("line"))
    edit(bad, start=f"touch {pwned}; {serve('line')}")
    done = wirefault("replay", str(good), str(bad), cwd=tmp_path)
    assert done.returncode == 2 and not pwned.exists()
    assert str(bad) in done.stderr and str(good) not in done.stderr


def test_the_files_probe_is_used_and_replay_probe_overrides_it(tmp_path: Path) -> None:
    # This server answers PING alone: the line codec's own probe gets no answer.
    with_probe = signed_file(tmp_path / "a", start=PING_SERVER, probe=b"PING\n")
    done = wirefault("replay", str(with_probe), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    without = signed_file(tmp_path / "b", start=PING_SERVER)
    done = wirefault("replay", str(without), cwd=tmp_path)
    assert done.returncode == 2 and "does not answer the line probe" in done.stderr
    done = wirefault("replay", str(without), "--probe", "PING\\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = wirefault("replay", str(with_probe), "--probe", "HELLO\\n", cwd=tmp_path)
    assert done.returncode == 2


@pytest.mark.slow
def test_a_state_dependent_failure_replays_bare_on_a_fresh_server(tmp_path: Path) -> None:
    # The slots server loses a slot per reset: it fails only once enough have piled up,
    # so one play against a fresh server does not show it.
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", tiny("slots"),
        "--properties", "reset", "--seed", "1", "--deadline", "0.5", "--shrink-budget", "5",
        "--json", "--backend", "none", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    (failure,) = json.loads(done.stdout)["failures"]
    replay = tmp_path / failure["replay"]
    fresh = json.loads(replay.read_text())["fresh_server"]
    assert fresh["reproduced"] and fresh["plays"] > 1
    once = wirefault("replay", str(replay), "--repeat", "1", cwd=tmp_path)
    assert once.returncode == 0, once.stderr  # one play from a fresh server: not yet
    bare = wirefault("replay", str(replay), cwd=tmp_path)
    assert bare.returncode == 1, bare.stdout + bare.stderr
    assert "reset: reproduced in 1/" in bare.stdout


@pytest.mark.slow
def test_a_leaked_socket_is_found_at_the_first_reset_and_replays_from_a_fresh_server(
    tmp_path: Path,
) -> None:
    # buggy-fd-leak keeps the socket of every client that resets: seen at once, in the
    # server's own descriptors, long before the leak starves it.
    done = wirefault(
        "fuzz", "127.0.0.1:0", "--codec", "line", "--start", serve("buggy-fd-leak"),
        "--properties", "reset", "--seed", "1", "--json", "--backend", "none", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    (failure,) = summary["failures"]
    assert failure["kind"] == "leak"
    assert failure["agreement"] == {"replays": 3, "reproduced": 3}
    assert failure["examples_to_failure"] <= 3  # the first resets show it
    assert "still held its end of c0 open" in failure["message"]
    replay = tmp_path / failure["replay"]
    assert json.loads(replay.read_text())["fresh_server"]["plays"] == 1
    once = wirefault("replay", str(replay), "--repeat", "1", cwd=tmp_path)
    assert once.returncode == 1, once.stdout + once.stderr
    assert "reset: reproduced in 1/1" in once.stdout
    # Against a server wirefault did not start, its processes cannot be looked at: the
    # replay says how to see the leak rather than leaving a bare "did not reproduce".
    server = subprocess.Popen(
        [sys.executable, "-m", "wirefault", "serve", "buggy-fd-leak", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        where = server.stdout.readline().split()[-1]
        outside = wirefault("replay", str(replay), "--target", where, cwd=tmp_path)
    finally:
        server.kill()
        server.wait()
        assert server.stdout is not None
        server.stdout.close()
    assert outside.returncode == 0, outside.stdout + outside.stderr
    assert "did not reproduce" in outside.stdout
    assert "seen only in a server wirefault starts: give --start CMD" in outside.stdout
