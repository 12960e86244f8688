"""A server that accepts no one: its connects time out, and that is a timeout, not a refusal.

A listener whose accept queue is full drops SYNs: a connect times out, while
nothing about the server says "refused". The runner records such a connection
as ``unaccepted`` and its Expect as a timeout; after one such connect, the next
ones of the play (or, judged early, of the next play) do not wait again while the
queue stays full.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.patience import judged_early
from wirefault.properties import get_property
from wirefault.properties.base import seconds, unanswered
from wirefault.runner import CONNECT_TIMEOUT, Runner, RunnerOptions
from wirefault.scenario import Expect, Scenario, Send
from wirefault.sockdiag import DiagSocket
from wirefault.transcript import ExpectResult

pytestmark = pytest.mark.usefixtures("needs_sock_diag")

LINE = get_codec("line")


@pytest.fixture
def full_queue() -> Iterator[Address]:
    """A listener with a backlog of 0 that never accepts, its queue filled by one client."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    waiting: list[socket.socket] = []
    diag = DiagSocket.open()
    assert diag is not None
    try:
        while not diag.accept_queue_full(port):
            assert len(waiting) < 8, "the accept queue never filled"
            waiting.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        yield Address("tcp", "127.0.0.1", port)
    finally:
        diag.close()
        for sock in waiting:
            sock.close()
        listener.close()


def probes(*conns: int) -> Scenario:
    steps = []
    for conn in conns:
        steps += [Send(conn=conn, chunks=(b"probe\n",)), Expect(conn=conn, count=1)]
    return Scenario(steps=tuple(steps))


def test_a_connect_to_a_full_accept_queue_is_a_timeout_and_the_next_one_does_not_wait(
    full_queue: Address,
) -> None:
    began = time.monotonic()
    transcript = Runner(full_queue, LINE, options=RunnerOptions(deadline=0.5)).play(probes(0, 1))
    took = time.monotonic() - began
    # The first connect waits (a SYN dropped is resent after 1 s); the second, with the
    # queue still full, does not wait as long again.
    assert CONNECT_TIMEOUT <= took < 2 * CONNECT_TIMEOUT
    assert [r.outcome for r in transcript.expects] == ["timeout", "timeout"]
    assert all(transcript.conn(c).unaccepted for c in (0, 1))
    assert next(e.what for e in transcript.events if e.conn == 1) == "unaccepted"
    assert not judged_early(transcript)  # certain: this play waited one connect out
    verdict = get_property("liveness").judge(probes(0), transcript, LINE)
    assert not verdict.ok and verdict.kind == "timeout"
    assert "could not even connect: the connect timed out" in verdict.message


def test_after_an_earlier_play_the_first_connect_is_judged_early(full_queue: Address) -> None:
    options = RunnerOptions(deadline=0.5, early=True, unaccepting=True)
    began = time.monotonic()
    transcript = Runner(full_queue, LINE, options=options).play(probes(0))
    assert time.monotonic() - began < CONNECT_TIMEOUT / 2
    assert transcript.conn(0).unaccepted and transcript.expects[0].outcome == "timeout"
    assert judged_early(transcript)  # a failure resting on it is verified waiting
    # Not early (a play that waits every deadline out): the connect is waited for.
    began = time.monotonic()
    options = RunnerOptions(deadline=0.5, early=False, unaccepting=True)
    waited = Runner(full_queue, LINE, options=options).play(probes(0))
    assert time.monotonic() - began >= CONNECT_TIMEOUT
    assert waited.conn(0).unaccepted and not judged_early(waited)


def test_a_refused_connect_is_still_a_refusal() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connects are refused
        transcript = Runner(Address("tcp", "127.0.0.1", port), LINE).play(probes(0))
    assert transcript.expects[0].outcome == "refused"
    assert not transcript.conn(0).unaccepted


def test_durations_in_messages_read_well_when_short() -> None:
    assert seconds(1.0) == "1.0s" and seconds(0.5) == "0.5s"
    assert seconds(0.006) == "6 ms"  # a timeout judged early: not "0.0s"
    early = ExpectResult(step=1, conn=0, wanted=1, frames=(), outcome="timeout", elapsed=0.021)
    assert unanswered(early, "open") == "got no answer within 21 ms"
