"""A server's own processes, and the sooner silence they allow (harness/server_activity.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.server_activity import Activity, IdleSpell, ServerActivity

pytestmark = [
    pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc (Linux)"),
    pytest.mark.usefixtures("needs_sock_diag"),
]

LINE = get_codec("line")
QUIET_SERVER = Path(__file__).with_name("quiet_server.py")
#: The learnt silence; the sooner one is far shorter.
SETTLE = 0.6
QUIET_SETTLE = 0.002


class _Server:
    def __init__(self, process: subprocess.Popen[str], address: Address) -> None:
        self.process = process
        self.address = address


@pytest.fixture
def quiet_server(script_server) -> Callable[..., _Server]:
    """Starts ``quiet_server.py MODE`` in a session of its own; stops every one after."""

    def start(mode: str, transport: str = "tcp") -> _Server:
        process, port = script_server(QUIET_SERVER, mode)
        return _Server(process, Address(transport, "127.0.0.1", port))

    return start


def _play(server: _Server, activity: ServerActivity | None, settle: float = SETTLE):
    options = RunnerOptions(
        deadline=5.0, settle=settle, activity=activity, quiet_settle=QUIET_SETTLE
    )
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"go\n",)), Expect(conn=0), Close(conn=0)))
    return Runner(server.address, LINE, options=options).play(scenario)


def test_a_server_that_waits_is_judged_silent_sooner(quiet_server) -> None:
    server = quiet_server("silent")
    transcript = _play(server, ServerActivity(server.process.pid))
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < SETTLE / 2  # not the learnt settle time
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "its processes used no CPU" in silent.detail


@pytest.mark.parametrize("mode", ["spin", "bursts", "sleepy"])
def test_a_server_computing_its_reply_is_waited_for(quiet_server, mode: str) -> None:
    """Silent on its sockets while it computes, then answers: its CPU time says it is busy
    (running at every look, or, in bursts, asleep at some looks but using CPU between);
    or while it sleeps on a timer of its own (``sleep()``), which its wchan says."""
    server = quiet_server(mode)
    transcript = _play(server, ServerActivity(server.process.pid))
    assert transcript.expects[0].outcome == "ok"
    assert transcript.conn(0).frames == [b"done"]
    # The same silence without the server's processes to look at is taken for certain.
    blind = _play(server, None, settle=QUIET_SETTLE)
    assert blind.expects[0].outcome == "timeout"


def test_a_server_outside_the_process_tree_is_not_taken_for_quiet(quiet_server) -> None:
    """A launcher that only waits (a container, a daemon's parent) says nothing of the server."""
    server = quiet_server("elsewhere")
    transcript = _play(server, ServerActivity(server.process.pid))
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed >= SETTLE  # the learnt settle time, not the sooner one
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "CPU" not in silent.detail


def test_a_look_sees_cpu_time_new_children_and_held_sockets(quiet_server) -> None:
    server = quiet_server("silent")
    activity = ServerActivity(server.process.pid)
    # Once it has settled after printing its address (blocked in accept), looks agree.
    deadline = time.monotonic() + 10
    first = activity.look()
    while True:
        time.sleep(0.05)
        second = activity.look()
        assert first is not None and second is not None
        if second.quiet_since(first):
            break
        assert time.monotonic() < deadline, "the idle server never looked quiet"
        first = second
    assert first.pids == {server.process.pid}
    with socket.create_connection(server.address.sockaddr()) as client:
        client.sendall(b"x\n")
        deadline = time.monotonic() + 5
        while (third := activity.look()) is not None and third.quiet_since(second):
            assert time.monotonic() < deadline, "the server never used CPU for the request"
            time.sleep(0.01)
    # A process that holds no socket of the server's does not own it.
    with socket.socket() as ours:
        assert not activity.owns(os.fstat(ours.fileno()).st_ino, second)


def test_a_server_that_has_exited_cannot_be_seen(quiet_server) -> None:
    server = quiet_server("silent")
    activity = ServerActivity(server.process.pid)
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    assert activity.look() is None


def test_a_server_that_is_not_reading_is_not_waited_for_the_whole_read_bound(
    quiet_server,
) -> None:
    """Its processes asleep with a chunk unread: the next chunk goes, the cut marked unread."""
    server = quiet_server("deaf")
    chunks = (b"a" * 10, b"b" * 10, b"\n")
    scenario = Scenario(steps=(Send(conn=0, chunks=chunks), Close(conn=0)))

    def cut_wait(activity: ServerActivity | None) -> float:
        options = RunnerOptions(
            deadline=5.0,
            read_bound=1.0,
            settle=SETTLE,
            activity=activity,
            quiet_settle=QUIET_SETTLE,
        )
        transcript = Runner(server.address, LINE, options=options).play(scenario)
        assert transcript.conn(0).cuts == ["unread", "unread"]
        # The second chunk's send says how long the first cut waited: "cut unread after Xms".
        (first, _) = [e for e in transcript.events if e.detail.startswith("cut ")]
        return float(first.detail.split("after ")[1].removesuffix("ms")) / 1000

    assert cut_wait(ServerActivity(server.process.pid)) < 0.5
    assert cut_wait(None) >= 1.0  # the whole bound


def test_an_unframed_response_ends_once_no_more_of_it_can_come(quiet_server) -> None:
    """With no framing a response ends after ``quiet`` seconds of silence, or sooner once
    the silence is certain: the server read everything, sent everything, and waits."""
    server = quiet_server("answer")
    raw = get_codec("raw")
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"go\n",)), Expect(conn=0), Close(conn=0)))

    def play(activity: ServerActivity | None, settle: float | None) -> tuple[str, float]:
        options = RunnerOptions(
            deadline=5.0, quiet=1.0, settle=settle, activity=activity, quiet_settle=QUIET_SETTLE
        )
        transcript = Runner(server.address, raw, options=options).play(scenario)
        assert transcript.conn(0).received == b"done\n"
        (result,) = transcript.expects
        return result.outcome, result.elapsed

    outcome, elapsed = play(ServerActivity(server.process.pid), SETTLE)
    assert outcome == "ok" and elapsed < 0.5
    outcome, elapsed = play(None, None)  # nothing judged early: the quiet time
    assert outcome == "ok" and elapsed >= 1.0


def test_a_silent_udp_server_is_judged_silent_sooner_too(quiet_server) -> None:
    """Its socket's receive queue is empty and its process waits: each re-send comes sooner."""
    server = quiet_server("udp-silent", "udp")
    codec = get_codec("datagram")
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"ping",)), Expect(conn=0), Close(conn=0)))
    options = RunnerOptions(
        deadline=5.0,
        settle=SETTLE,
        activity=ServerActivity(server.process.pid),
        quiet_settle=QUIET_SETTLE,
    )
    transcript = Runner(server.address, codec, options=options).play(scenario)
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < SETTLE  # four silences (three re-sends), none of them 0.6 s
    assert [e.what for e in transcript.events].count("retry") == options.udp_retries
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "its processes used no CPU" in silent.detail


@pytest.mark.parametrize("mode", ["spin", "bursts"])
def test_a_reply_computed_for_longer_than_the_settle_time_is_waited_for(
    quiet_server, mode: str
) -> None:
    """Its sockets are quiet for longer than the settle time, but it is at work all along:
    running at the looks, or using CPU between them (a quadratic parse sends nothing for
    seconds)."""
    server = quiet_server(mode)
    transcript = _play(server, ServerActivity(server.process.pid), settle=0.02)
    (result,) = transcript.expects
    assert result.outcome == "ok", [e.detail for e in transcript.events]
    assert transcript.conn(0).frames == [b"done"]
    assert result.elapsed >= 0.1  # the whole computation was waited for


def _watching(server: _Server, *, settle: float, hasty: bool = False) -> RunnerOptions:
    """Options of a play that sees ``server``'s processes (5 s deadline)."""
    return RunnerOptions(
        deadline=5.0,
        settle=settle,
        activity=ServerActivity(server.process.pid),
        quiet_settle=QUIET_SETTLE,
        hasty=hasty,
    )


def test_a_hasty_play_takes_a_quiet_socket_for_silence_even_while_the_server_works(
    quiet_server,
) -> None:
    """A confirmation's early timeout can only keep a failure standing: it does not wait
    for a server at work (a catastrophic regex would hold it to the deadline)."""
    server = quiet_server("spin")
    options = _watching(server, settle=0.02, hasty=True)
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"go\n",)), Expect(conn=0), Close(conn=0)))
    (result,) = Runner(server.address, LINE, options=options).play(scenario).expects
    assert result.outcome == "timeout"
    assert result.elapsed < 1.0  # the settle time, not the computation or the deadline


def test_a_server_at_work_on_the_client_before_is_waited_for(quiet_server) -> None:
    """One client at a time: ours waits in the accept queue (no descriptor of the server's
    holds it yet) while the server computes the reply of the one before."""
    server = quiet_server("spin")
    options = _watching(server, settle=0.02)
    scenario = Scenario(
        steps=(
            Send(conn=0, chunks=(b"go\n",)),
            Close(conn=0),
            Send(conn=1, chunks=(b"go\n",)),
            Expect(conn=1),
            Close(conn=1),
        )
    )
    transcript = Runner(server.address, LINE, options=options).play(scenario)
    (result,) = transcript.expects
    assert result.outcome == "ok", [e.detail for e in transcript.events]
    assert transcript.conn(1).frames == [b"done"]


def test_an_idle_spell_counts_from_the_first_idle_pair_and_breaks_on_work() -> None:
    pids = frozenset({1})
    asleep_on_timer = Activity(pids, 100, busy=True, running=False)
    spell = IdleSpell()
    spell.start(Activity(pids, 100, busy=False), 0.0)
    assert spell.look(Activity(pids, 100, busy=False), 0.01) == pytest.approx(0.01)
    assert spell.look(Activity(pids, 100, busy=False), 0.03) == pytest.approx(0.03)
    assert spell.look(Activity(pids, 150, busy=False), 0.04) == 0.0  # CPU used: over
    assert spell.look(asleep_on_timer, 0.05) == 0.0  # a timer's sleeper counts as busy
    # Unless told not to: a runtime's housekeeping thread sleeps so all the time.
    lenient = IdleSpell(timers_busy=False)
    lenient.start(asleep_on_timer, 0.0)
    assert lenient.look(asleep_on_timer, 0.02) == pytest.approx(0.02)
    assert lenient.look(Activity(pids, 100, busy=True, running=True), 0.03) == 0.0
    assert lenient.look(Activity(frozenset({1, 2}), 100, busy=False), 0.04) == 0.0  # forked
