"""A server still busy with a request an example gave up on is slow, not dead.

A quadratic parser fed a large request by ``growth`` may still be working when the
example ends; the liveness probe that follows must not call it wedged after a
silence judged early (it was once the failure a campaign shrank, and the real
``slow`` failure was lost as "kept apart").
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from hypothesis.strategies import SearchStrategy
from verdict_servers import BUSY_SECONDS
from verdicts_support import DEADLINE, campaign, server_command

from wirefault.addresses import Address
from wirefault.codecs.base import Codec
from wirefault.properties.base import Property, PropertyContext, Verdict
from wirefault.scenario import Expect, Scenario, Send
from wirefault.target import ServerProcess
from wirefault.transcript import Transcript


def _abandon_a_busy_request(address: Address) -> None:
    with socket.create_connection((address.host, address.port), timeout=5) as client:
        client.sendall(b"busy\n")  # and gone before the answer


def test_a_probe_behind_a_busy_request_is_asked_again_with_the_whole_deadline(
    tmp_path: Path,
) -> None:
    assert BUSY_SECONDS < DEADLINE  # the server answers within one deadline
    with ServerProcess(
        server_command("busy-one-at-a-time"), Address("tcp", "127.0.0.1", 0)
    ) as server:
        stage = campaign(server, "line", tmp_path).stage
        for _ in range(5):  # quick answers: silence soon counts as certain
            assert stage.liveness().ok
        _abandon_a_busy_request(server.address)
        began = time.monotonic()
        verdict = stage.liveness()
        waited = time.monotonic() - began
        assert verdict.ok, verdict.message
        assert waited < DEADLINE * 4  # one early probe, one whole deadline at most
        assert stage.settle  # early judgement is back on for the next plays


def test_a_server_that_never_answers_again_still_fails_liveness(tmp_path: Path) -> None:
    with ServerProcess(
        server_command("busy-one-at-a-time"), Address("tcp", "127.0.0.1", 0)
    ) as server:
        stage = campaign(server, "line", tmp_path).stage
        assert stage.liveness().ok
        # Hold the only seat: one connection at a time, and this one never leaves.
        with socket.create_connection((server.address.host, server.address.port)) as holder:
            holder.sendall(b"hello\n")
            assert holder.recv(64) == b"OK hello\n"
            verdict = stage.liveness()
        assert not verdict.ok  # refused or timed out: either way, no answer


class _Timed(Property):
    """Passes when the one request got its answer; wants silences waited out if ``full``."""

    name = "timed-for-test"
    summary = "the answer comes"

    def __init__(self, *, full: bool) -> None:
        self.full = full

    def wants_full_wait(self, scenario: Scenario, transcript: Transcript) -> bool:
        return self.full

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        raise NotImplementedError  # judged by hand here

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        answered = transcript.expects[0].outcome == "ok"
        return Verdict.passed() if answered else Verdict.failed("no answer", "timeout")


@pytest.mark.parametrize("early", [True, False])
def test_a_property_that_times_answers_waits_for_them_whole(tmp_path: Path, early: bool) -> None:
    busy = Scenario(steps=(Send(conn=0, chunks=(b"busy\n",)), Expect(conn=0, count=1)))
    prop = _Timed(full=not early)
    with ServerProcess(
        server_command("busy-one-at-a-time"), Address("tcp", "127.0.0.1", 0)
    ) as server:
        # A long deadline: waited out, the replay may meet the server still busy with the
        # first play's request, and answers after both.
        run = campaign(server, "line", tmp_path, deadline=3.0)
        for _ in range(5):  # quick answers: silence soon counts as certain
            assert run.stage.liveness().ok
        transcript = run.judge(prop, busy).transcript
        # Judged early, the busy server's silence (no progress a socket can see) is a
        # timeout; a property that wants it waited out gets the answer, 0.3 s later.
        assert (transcript.expects[0].outcome == "ok") is not early
        assert run.stage.settle  # back on for the next plays
