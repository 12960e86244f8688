"""The runner's preamble: a handshake sent on every connection, its replies not counted."""

from __future__ import annotations

import socket

from wirefault.codecs import get_codec
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Scenario, Send

LINE = get_codec("line")


def handshake_then_echo(conn: socket.socket, seen: list[object]) -> None:
    """Demands ``HELLO`` (then ``AUTH x``) first, answering each; then echoes lines."""
    conn.settimeout(5)
    stream = conn.makefile("rwb")
    try:
        if stream.readline() != b"HELLO\n":
            seen.append("no hello")
            return
        stream.write(b"WELCOME\n")
        stream.flush()
        for line in stream:
            if line == b"AUTH x\n":
                stream.write(b"OK\n")
            else:
                seen.append(line)
                stream.write(b"echo " + line)
            stream.flush()
    except OSError as exc:
        seen.append(exc)
    finally:
        stream.close()


SCENARIO = Scenario(
    steps=(
        Send(conn=0, chunks=(b"one\n",)),
        Expect(conn=0, count=1),
        Close(conn=0),
        Send(conn=1, chunks=(b"two\n",)),
        Expect(conn=1, count=1),
        Close(conn=1),
    )
)


def test_each_connection_sends_the_preamble_first_and_its_reply_is_not_counted(
    tiny_server,
) -> None:
    server = tiny_server(handshake_then_echo)
    options = RunnerOptions(deadline=1.0, preamble=(b"HELLO\n", b"AUTH x\n"))
    transcript = Runner(server.address, LINE, options=options).play(SCENARIO)
    assert [r.frames for r in transcript.expects] == [(b"echo one",), (b"echo two",)]
    assert all(r.outcome == "ok" for r in transcript.expects)
    # The connection's sent bytes are the scenario's alone; the handshake is in the events.
    assert transcript.conn(0).sent == b"one\n"
    handshakes = [e for e in transcript.events if e.detail == "preamble"]
    assert [(e.conn, e.data) for e in handshakes] == [
        (0, b"HELLO\n"),
        (0, b"AUTH x\n"),
        (1, b"HELLO\n"),
        (1, b"AUTH x\n"),
    ]
    assert server.seen == [b"one\n", b"two\n"]


def test_without_the_preamble_the_server_refuses_the_scenario(tiny_server) -> None:
    server = tiny_server(handshake_then_echo)
    transcript = Runner(server.address, LINE, options=RunnerOptions(deadline=0.5)).play(SCENARIO)
    assert [r.frames for r in transcript.expects] == [(), ()]
    assert "no hello" in server.seen


def test_a_preamble_nobody_answers_costs_one_deadline_and_the_steps_still_run(
    tiny_server,
) -> None:
    def silent_then_echo(conn: socket.socket, seen: list[object]) -> None:
        conn.settimeout(5)
        with conn.makefile("rwb") as stream:
            stream.readline()  # the preamble, never answered
            for line in stream:
                stream.write(line)
                stream.flush()

    server = tiny_server(silent_then_echo)
    options = RunnerOptions(deadline=0.3, preamble=(b"HELLO\n",))
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"hi\n",)), Expect(conn=0), Close(conn=0)))
    transcript = Runner(server.address, LINE, options=options).play(scenario)
    assert transcript.expects[0].frames == (b"hi",)
