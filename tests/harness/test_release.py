"""Whether a server closes the connections its clients reset (harness/release.py).

Against release_server.py, whose modes close a reset connection at once, keep it
for ever, leave it to an epoll idle timer, or hand it to a reaper thread.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.patience import judged_early
from wirefault.properties import get_property
from wirefault.release import accepted_inode
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Abort, Close, Expect, Open, Scenario, Send
from wirefault.server_activity import ServerActivity
from wirefault.sockdiag import DiagSocket, TcpWatch
from wirefault.transcript import Transcript

pytestmark = [
    pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc (Linux)"),
    pytest.mark.usefixtures("needs_sock_diag"),
]

LINE = get_codec("line")
RELEASE_SERVER = Path(__file__).with_name("release_server.py")
#: A full grace shorter than the real one (2 s at least), and longer than the reapers'
#: 0.3 s rounds, so that the tests stay quick.
GRACE = 1.0


@pytest.fixture
def release_server(script_server) -> Callable[[str], tuple[Address, ServerActivity]]:
    """Starts ``release_server.py MODE``; stopped after the test."""

    def start(mode: str) -> tuple[Address, ServerActivity]:
        process, port = script_server(RELEASE_SERVER, mode)
        return Address("tcp", "127.0.0.1", port), ServerActivity(process.pid)

    return start


def reset_then_probe(sent: bytes = b"half") -> Scenario:
    """c0 sends ``sent`` and resets; c1 is answered."""
    return Scenario(
        steps=(
            Open(conn=0),
            *((Send(conn=0, chunks=(sent,)),) if sent else ()),
            Abort(conn=0),
            Send(conn=1, chunks=(b"probe\n",)),
            Expect(conn=1, count=1),
            Close(conn=1),
        )
    )


def play(address: Address, activity: ServerActivity, *, grace: float = 0.0) -> Transcript:
    options = RunnerOptions(deadline=1.0, holder=activity, release_grace=grace)
    transcript = Runner(address, LINE, options=options).play(reset_then_probe())
    assert transcript.expects[0].outcome == "ok"
    return transcript


def test_a_server_that_closes_a_reset_connection_released_it(release_server) -> None:
    address, activity = release_server("close")
    for grace in (0.0, GRACE):
        began = time.monotonic()
        transcript = play(address, activity, grace=grace)
        assert transcript.conn(0).release == "released"
        # Released is seen at once: the grace is waited only for a socket still held.
        assert time.monotonic() - began < GRACE / 2
        assert not judged_early(transcript)


def test_a_leaked_connection_is_held_early_then_after_the_grace(release_server) -> None:
    address, activity = release_server("leak")
    early = play(address, activity)
    assert early.conn(0).release == "held-early"
    assert judged_early(early)  # a failure resting on it is verified with the full grace
    full = play(address, activity, grace=GRACE)
    assert full.conn(0).release == "held"
    assert full.conn(0).release_after >= GRACE
    assert not judged_early(full)
    assert [e.detail.split()[0] for e in full.events if e.what == "release"] == ["held"]


def test_a_reset_connection_an_epoll_set_still_waits_on_is_not_blamed(release_server) -> None:
    # Like nginx after a reset it missed: open, idle, but still armed in its epoll set.
    address, activity = release_server("edge")
    for grace in (0.0, GRACE):
        began = time.monotonic()
        transcript = play(address, activity, grace=grace)
        assert transcript.conn(0).release == "polled"
        assert time.monotonic() - began < GRACE  # no grace waited for a socket still watched


def test_a_reaper_asleep_on_a_timer_is_waited_for(release_server) -> None:
    # The reaper sleeps 0.3 s in usleep between rounds: busy, so even the early check waits.
    address, activity = release_server("reaper-timer")
    transcript = play(address, activity)
    assert transcript.conn(0).release == "released"
    assert 0.0 < transcript.conn(0).release_after < 1.0


def test_a_reaper_that_looks_idle_is_held_early_and_released_within_the_grace(
    release_server,
) -> None:
    # Waiting on a condition with a timeout looks idle: the early check holds it, the full
    # one (a verifying replay) sees the reaper close it, so no failure would be reported.
    address, activity = release_server("reaper-wait")
    assert play(address, activity).conn(0).release == "held-early"
    full = play(address, activity, grace=GRACE)
    assert full.conn(0).release == "released"
    assert full.conn(0).release_after < GRACE


def test_no_holder_no_check(release_server) -> None:
    address, _ = release_server("leak")
    transcript = Runner(address, LINE, options=RunnerOptions(deadline=1.0)).play(reset_then_probe())
    assert transcript.conn(0).release == ""
    assert not [e for e in transcript.events if e.what == "release"]


def test_the_reset_property_fails_a_leak_and_passes_the_rest(release_server) -> None:
    prop = get_property("reset")
    scenario = reset_then_probe()
    verdicts = {}
    for mode in ("close", "leak", "edge"):
        address, activity = release_server(mode)
        transcript = play(address, activity)
        verdicts[mode] = prop.judge(scenario, transcript, LINE)
    assert verdicts["close"].ok and verdicts["edge"].ok
    leak = verdicts["leak"]
    assert not leak.ok and leak.kind == "leak"
    assert "still held its end of c0 open" in leak.message
    assert "reset (RST)" in leak.message


def test_a_connection_never_accepted_is_not_looked_up(release_server) -> None:
    # A listener nobody accepts from: the connection waits in the queue, with no inode.
    _, activity = release_server("close")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2])
        diag = DiagSocket.open()
        assert diag is not None
        try:
            request = diag.tcp_request(client)
            assert request is not None
            watch = TcpWatch(diag, request)
            began = time.monotonic()
            assert accepted_inode(watch, activity, began + 0.5) == 0
            # The server (another process, idle) shows it is not coming: no need to wait.
            assert time.monotonic() - began < 0.4
            accepted, _ = listener.accept()
            with accepted:
                assert accepted_inode(watch, activity, time.monotonic() + 0.5) > 0
        finally:
            diag.close()
            client.close()
