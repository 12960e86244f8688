"""The run's cutoff: every wait ends at it, and a wait it ends is not a server's timeout."""

from __future__ import annotations

import shlex
import socket
import sys
import time
from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.cutoff import Cutoff, OutOfTime, allowance, process_age
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Expect, Pause, Scenario, Send
from wirefault.target import ServerProcess

LINE = get_codec("line")
SCRIPT = Path(__file__).parent / "scripted_server.py"


def silent(conn: socket.socket, seen: list[object]) -> None:
    conn.settimeout(10)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def test_a_cutoff_without_budget_never_passes_until_interrupted() -> None:
    cutoff = Cutoff.after(None)
    assert not cutoff.passed() and cutoff.left() == float("inf")
    cutoff.check()
    cutoff.interrupt()
    assert cutoff.passed() and cutoff.bound(time.monotonic() + 5) < time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        cutoff.check()


def test_a_spent_budget_raises_out_of_time() -> None:
    cutoff = Cutoff.after(0.01)
    time.sleep(0.02)
    with pytest.raises(OutOfTime):
        cutoff.check()


def test_the_allowance_is_five_percent_or_one_deadline() -> None:
    assert allowance(20.0, 1.0) == 1.0
    assert allowance(600.0, 1.0) == pytest.approx(30.0)


def test_the_budget_counts_from_the_process_launch() -> None:
    assert 0.0 < process_age() < 24 * 3600


def test_a_read_the_cutoff_ends_raises_instead_of_recording_a_timeout(tiny_server) -> None:
    server = tiny_server(silent)
    cutoff = Cutoff.after(0.3)
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"hello\n",)), Expect(conn=0)))
    runner = Runner(server.address, LINE, options=RunnerOptions(deadline=5.0, cutoff=cutoff))
    began = time.monotonic()
    with pytest.raises(OutOfTime):
        runner.play(scenario)
    assert time.monotonic() - began < 1.5  # the cutoff's 0.3 s, not the 5 s deadline


def test_a_pause_ends_at_an_interrupt(tiny_server) -> None:
    server = tiny_server(silent)
    cutoff = Cutoff()
    cutoff.interrupt()  # as the signal handler does, when Python lost the KeyboardInterrupt
    runner = Runner(server.address, LINE, options=RunnerOptions(deadline=5.0, cutoff=cutoff))
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        runner.play(Scenario(steps=(Pause(seconds=5.0),)))
    assert time.monotonic() - began < 1.0


def test_a_server_start_the_cutoff_ends_is_not_the_servers_fault() -> None:
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} {{port}} --no-listen"
    server = ServerProcess(command, Address("tcp", "127.0.0.1", 0), cutoff=Cutoff.after(0.5))
    began = time.monotonic()
    with pytest.raises(OutOfTime):
        server.start()
    assert time.monotonic() - began < 3.0  # not the 15 s readiness timeout
    assert not server.alive()  # and it was stopped
    server.close()
