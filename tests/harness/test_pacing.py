"""Pacing by the server's reads: each cut is a separate read, even on a loaded machine."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, ExpectClose, HalfClose, Scenario, Send

LINE = get_codec("line")
HERE = Path(__file__).parent


needs_diag = pytest.mark.usefixtures("needs_sock_diag")


@pytest.fixture
def read_counter() -> Iterator[Address]:
    """The read-counting line server in its own process (stopped after the test)."""
    child = subprocess.Popen(
        [sys.executable, str(HERE / "read_counting_server.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        match = re.search(r":(\d+)$", child.stdout.readline().strip())
        assert match, "the read-counting server did not start"
        yield Address("tcp", "127.0.0.1", int(match.group(1)))
    finally:
        child.kill()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


@pytest.fixture
def cpu_hogs() -> Iterator[None]:
    """Two processes burning a CPU each (the machine has two), killed after the test."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.2)  # let them start spinning
        yield
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(10)


def _two_chunks() -> Scenario:
    # No drawn pause: only the pacing can keep the two writes apart.
    return Scenario(
        steps=(Send(conn=0, chunks=(b"ab", b"c\n")), Expect(conn=0, count=1), Close(conn=0))
    )


@needs_diag
def test_two_chunks_are_two_reads_with_two_cpu_hogs(read_counter, cpu_hogs) -> None:
    runner = Runner(read_counter, LINE, options=RunnerOptions(deadline=5.0))
    replies = []
    for _ in range(100):
        transcript = runner.play(_two_chunks())
        assert transcript.conn(0).cuts in (["read"], ["unread"])
        replies.append(transcript.conn(0).frames)
    separate = sum(1 for frames in replies if frames == [b"2"])
    assert separate >= 99, f"only {separate}/100 two-chunk requests were read in two reads"


@needs_diag
def test_cuts_record_that_the_server_read_each_chunk(read_counter) -> None:
    chunks = (b"a", b"b", b"c", b"\n")
    scenario = Scenario(steps=(Send(conn=0, chunks=chunks), Expect(conn=0, count=1)))
    transcript = Runner(read_counter, LINE).play(scenario)
    assert transcript.conn(0).frames == [b"4"]
    assert transcript.conn(0).cuts == ["read", "read", "read"]
    assert transcript.conn(0).cuts_seen() == 3
    details = [e.detail for e in transcript.events if e.what == "send"]
    assert details[0] == "" and all(d.startswith("cut read after") for d in details[1:])


def test_without_pacing_the_drawn_pause_is_slept_and_the_cut_is_unknown(read_counter) -> None:
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"a", b"\n"), pause=0.05), Expect(conn=0)))
    began = time.monotonic()
    transcript = Runner(read_counter, LINE, options=RunnerOptions(pace=False)).play(scenario)
    assert time.monotonic() - began >= 0.05
    assert transcript.conn(0).cuts == ["paused"]
    assert transcript.conn(0).cuts_seen() is None


def _reads_nothing(conn: socket.socket, seen: list[object]) -> None:
    conn.settimeout(5)
    time.sleep(1.5)  # holds the connection without reading a byte


@needs_diag
def test_a_server_that_does_not_read_is_waited_for_once_not_at_every_cut(tiny_server) -> None:
    server = tiny_server(_reads_nothing)
    chunks = tuple(b"x" for _ in range(20))
    options = RunnerOptions(deadline=0.5, read_bound=0.05)
    began = time.monotonic()
    transcript = Runner(server.address, LINE, options=options).play(
        Scenario(steps=(Send(conn=0, chunks=chunks), Close(conn=0)))
    )
    assert transcript.conn(0).cuts == ["unread"] * 19
    assert time.monotonic() - began < 0.5  # one bound, not nineteen


def _answers_after_eof(conn: socket.socket, seen: list[object]) -> None:
    """Counts reads until EOF, then answers with how many reads carried data."""
    conn.settimeout(5)
    reads = 0
    while conn.recv(65536):
        reads += 1
    conn.sendall(b"%d\n" % reads)
    conn.close()


@needs_diag
def test_half_close_comes_after_the_server_read_the_last_byte(tiny_server) -> None:
    server = tiny_server(_answers_after_eof)
    steps = (Send(conn=0, chunks=(b"a\n", b"b\n")), HalfClose(conn=0), ExpectClose(conn=0))
    transcript = Runner(server.address, LINE).play(Scenario(steps=steps))
    (half,) = [e for e in transcript.events if e.what == "half_close"]
    assert half.detail.startswith("after the server read all 4B")
    assert transcript.conn(0).frames == [b"2"]


def _reads_late(conn: socket.socket, seen: list[object]) -> None:
    """Reads only after a while, then answers how many reads it took to reach EOF."""
    conn.settimeout(5)
    time.sleep(0.2)
    _answers_after_eof(conn, seen)


@needs_diag
def test_a_half_close_at_once_reaches_the_server_with_the_bytes_still_unread(tiny_server) -> None:
    server = tiny_server(_reads_late)
    steps = (Send(conn=0, chunks=(b"a\n",)), HalfClose(conn=0, at_once=True), ExpectClose(conn=0))
    transcript = Runner(server.address, LINE).play(Scenario(steps=steps))
    (half,) = [e for e in transcript.events if e.what == "half_close"]
    assert half.detail == "at once: 2B of 2B still unread by the server at the EOF"
    # Data and EOF were both waiting when the server first read: one read, then EOF.
    assert transcript.conn(0).frames == [b"1"]


def _reads_and_never_answers(conn: socket.socket, seen: list[object]) -> None:
    conn.settimeout(5)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


@needs_diag
def test_certain_silence_ends_an_expect_before_its_deadline(tiny_server) -> None:
    server = tiny_server(_reads_and_never_answers)
    options = RunnerOptions(deadline=3.0, settle=0.05)
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"ping\n",)), Expect(conn=0), Close(conn=0)))
    transcript = Runner(server.address, LINE, options=options).play(scenario)
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < 1.5  # judged early, not after the 3 s deadline
    (silent,) = [e for e in transcript.events if e.what == "silent"]
    assert "read everything we sent" in silent.detail


def _trickles(conn: socket.socket, seen: list[object]) -> None:
    """Reads the request, then answers one byte every 20 ms: slow, but moving."""
    conn.settimeout(5)
    conn.recv(65536)
    for byte in b"slow reply\n":
        time.sleep(0.02)
        conn.sendall(bytes([byte]))


@needs_diag
def test_a_reply_that_keeps_coming_is_not_judged_silent(tiny_server) -> None:
    server = tiny_server(_trickles)
    options = RunnerOptions(deadline=3.0, settle=0.1)
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"go\n",)), Expect(conn=0), Close(conn=0)))
    transcript = Runner(server.address, LINE, options=options).play(scenario)
    assert transcript.expects[0].outcome == "ok"
    assert transcript.conn(0).frames == [b"slow reply"]


def _two_writes(conn: socket.socket, seen: list[object]) -> None:
    """Answers each line in two small writes, Nagle on: the write-write-read pattern."""
    conn.settimeout(5)
    buffer = b""
    while data := conn.recv(65536):
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            conn.send(b"OK ")
            conn.send(line + b"\n")


def test_no_delayed_ack_stalls_with_a_server_that_writes_twice(tiny_server) -> None:
    server = tiny_server(_two_writes)
    steps = []
    for i in range(30):
        steps += [Send(conn=0, chunks=(b"line %d\n" % i,)), Expect(conn=0)]
    transcript = Runner(server.address, LINE).play(Scenario(steps=tuple(steps)))
    assert len(transcript.conn(0).frames) == 30
    # A delayed ACK holds the server's second write ~40 ms; without TCP_QUICKACK after
    # each read most of the 30 exchanges stall (measured: 24-30), with it none should.
    stalls = sum(1 for r in transcript.expects if r.elapsed >= 0.035)
    assert stalls <= 5, f"{stalls}/30 exchanges waited >= 35 ms"


def _udp_reads_and_never_answers(sock: socket.socket, seen: list[object]) -> None:
    sock.settimeout(0.1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            seen.append(sock.recv(65536))
        except (TimeoutError, OSError):
            if len(seen) >= 4:
                return


@needs_diag
def test_a_silent_udp_server_gets_its_resends_early_then_a_timeout(tiny_server) -> None:
    server = tiny_server(_udp_reads_and_never_answers, udp=True)
    options = RunnerOptions(deadline=3.0, settle=0.05)
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"hello",)), Expect(conn=0), Close(conn=0)))
    transcript = Runner(server.address, get_codec("datagram"), options=options).play(scenario)
    (result,) = transcript.expects
    assert result.outcome == "timeout"
    assert result.elapsed < 1.5  # three re-sends and the verdict, not four deadlines
    assert [e.what for e in transcript.events].count("retry") == 3
