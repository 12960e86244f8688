"""The runner: plays scenarios, records what the server did, never hangs."""

from __future__ import annotations

import socket
import time

from wirefault.codecs import get_codec
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Abort, Close, Expect, ExpectClose, HalfClose, Open, Scenario, Send
from wirefault.target import free_port

LENPREFIX = get_codec("lenprefix")
FAST = RunnerOptions(deadline=0.5)


def echo(conn: socket.socket, seen: list[object]) -> None:
    conn.settimeout(5)
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
        seen.append("eof")
        conn.shutdown(socket.SHUT_WR)
    except ConnectionResetError:
        seen.append("rst")
    except OSError as exc:
        seen.append(exc)


def silent(conn: socket.socket, seen: list[object]) -> None:
    conn.settimeout(5)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def test_frames_are_decoded_however_the_request_was_chunked(tiny_server) -> None:
    server = tiny_server(echo)
    wire = LENPREFIX.encode(b"hello") + LENPREFIX.encode(b"world")
    chunks = (wire[:1], wire[1:7], wire[7:])
    scenario = Scenario(steps=(Send(conn=0, chunks=chunks, pause=0.005), Expect(conn=0, count=2)))
    transcript = Runner(server.address, LENPREFIX, options=FAST).play(scenario)
    (result,) = transcript.expects
    assert result.outcome == "ok"
    assert result.frames == (b"hello", b"world")
    assert transcript.conn(0).sent == wire


def test_a_silent_server_times_out_after_the_deadline_not_forever(tiny_server) -> None:
    server = tiny_server(silent)
    scenario = Scenario(steps=(Send(conn=0, chunks=(LENPREFIX.encode(b"x"),)), Expect(conn=0)))
    began = time.monotonic()
    transcript = Runner(server.address, LENPREFIX, options=FAST).play(scenario)
    elapsed = time.monotonic() - began
    assert transcript.expects[0].outcome == "timeout"
    assert 0.4 <= elapsed < 5.0


def test_a_refused_connection_is_recorded_not_raised() -> None:
    address = get_free_address()
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"x",)), Expect(conn=0)))
    transcript = Runner(address, LENPREFIX, options=FAST).play(scenario)
    assert transcript.conn(0).end == "refused"
    assert transcript.expects[0].outcome == "refused"


def get_free_address():
    from wirefault.addresses import Address

    return Address("tcp", "127.0.0.1", free_port())


def test_abort_resets_the_connection_at_the_server(tiny_server) -> None:
    server = tiny_server(echo)
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"\x00\x00",)), Abort(conn=0)))
    transcript = Runner(server.address, LENPREFIX, options=FAST).play(scenario)
    assert transcript.conn(0).end == "aborted"
    wait_for(lambda: server.seen)
    assert server.seen == ["rst"]


def test_half_close_lets_the_server_see_eof_and_still_reply(tiny_server) -> None:
    server = tiny_server(echo)
    wire = LENPREFIX.encode(b"last words")
    scenario = Scenario(
        steps=(Send(conn=0, chunks=(wire,)), HalfClose(conn=0), ExpectClose(conn=0))
    )
    transcript = Runner(server.address, LENPREFIX, options=FAST).play(scenario)
    record = transcript.conn(0)
    assert record.frames == [b"last words"]
    assert record.end == "eof"
    assert transcript.expects[0].outcome == "ok"


def test_a_send_the_server_never_reads_is_cut_at_the_deadline(tiny_server) -> None:
    def never_reads(conn: socket.socket, seen: list[object]) -> None:
        time.sleep(3)

    server = tiny_server(never_reads)
    big = b"\x00" * (64 << 20)
    scenario = Scenario(
        steps=(Open(conn=0, rcvbuf=4096), Send(conn=0, chunks=(big,)), Close(conn=0))
    )
    began = time.monotonic()
    transcript = Runner(server.address, LENPREFIX, options=FAST).play(scenario)
    assert time.monotonic() - began < 3.0
    record = transcript.conn(0)
    assert record.short_send
    assert 0 < len(record.sent) < len(big)


def test_bytes_that_are_not_frames_are_recorded_as_garbage(tiny_server) -> None:
    def liar(conn: socket.socket, seen: list[object]) -> None:
        conn.recv(100)
        conn.sendall(b"\xff\xff\xff\xff")  # a length far beyond max_frame
        time.sleep(0.5)
        conn.close()

    server = tiny_server(liar)
    scenario = Scenario(steps=(Send(conn=0, chunks=(LENPREFIX.encode(b"q"),)), Expect(conn=0)))
    transcript = Runner(server.address, LENPREFIX, options=FAST).play(scenario)
    assert transcript.expects[0].outcome == "garbage"
    assert "max_frame" in transcript.conn(0).garbage or transcript.conn(0).garbage


def test_a_lost_datagram_is_sent_again_before_it_counts(tiny_server) -> None:
    def drops_first(sock: socket.socket, seen: list[object]) -> None:
        sock.settimeout(0.1)
        dropped = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data, peer = sock.recvfrom(65535)
            except (TimeoutError, OSError):
                if seen == ["stop"]:
                    return
                continue
            if not dropped:
                dropped = True
                continue
            sock.sendto(data, peer)

    server = tiny_server(drops_first, udp=True)
    codec = get_codec("datagram")
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"ping",)), Expect(conn=0)))
    transcript = Runner(server.address, codec, options=RunnerOptions(deadline=0.3)).play(scenario)
    server.seen.append("stop")
    assert transcript.expects[0].outcome == "ok"
    assert transcript.expects[0].frames == (b"ping",)
    assert [e.what for e in transcript.events].count("retry") == 1


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class _EndlessLooks:
    """A judge of silence whose every look is overdue and never certain (a slow port dump)."""

    def due(self) -> float:
        return 0.0

    def certain(self) -> bool:
        return False

    def heard(self) -> None:
        pass


def test_looks_for_a_silence_never_keep_a_reply_from_being_read(tiny_server, monkeypatch) -> None:
    def late_echo(conn: socket.socket, seen: list[object]) -> None:
        conn.settimeout(5)
        data = conn.recv(65536)
        time.sleep(0.05)  # the reply comes while the runner looks for a silence
        conn.sendall(data)

    server = tiny_server(late_echo)
    monkeypatch.setattr("wirefault.runner._Play.silence", lambda self, live: _EndlessLooks())
    scenario = Scenario(steps=(Send(conn=0, chunks=(LENPREFIX.encode(b"x"),)), Expect(conn=0)))
    transcript = Runner(server.address, LENPREFIX, options=RunnerOptions(deadline=2.0)).play(
        scenario
    )
    (result,) = transcript.expects
    assert result.outcome == "ok"
    assert result.frames == (b"x",)
    assert result.elapsed < 1.0  # read as it came, not at the deadline
