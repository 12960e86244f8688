"""Replies lost as a server closes on a request it refuses are no difference between plays.

A server that closes on a request it refuses, with later requests unread in its
socket, makes the kernel reset the connection, and the client loses replies that
were already on their way (mosquitto does this: docs/REAL_SERVERS.md). Pipelined,
the later requests are always unread; one by one, they were never sent.
"""

from __future__ import annotations

from wirefault.codecs import get_codec
from wirefault.properties import get_property
from wirefault.scenario import Close, Expect, ExpectClose, HalfClose, Scenario, Send
from wirefault.transcript import ConnRecord, ExpectResult, Outcome, Transcript

LINE = get_codec("line")
OK_A, OK_B = b"OK a", b"OK b"

# One by one on c0: a, b, a bad request the server closes on, then c (never answered).
# Pipelined on c1: all four in one write. Only the connections' sent bytes and the
# replies matter to the judges.
SCENARIO = Scenario(
    steps=(
        Send(conn=0, chunks=(b"a\n",)),
        Expect(conn=0, count=1),
        Send(conn=0, chunks=(b"b\n",)),
        Expect(conn=0, count=1),
        Send(conn=0, chunks=(b"bad\n",)),
        Expect(conn=0, count=1),
        Send(conn=0, chunks=(b"c\n",)),
        Expect(conn=0, count=1),
        Close(conn=0),
        Send(conn=1, chunks=(b"a\nb\nbad\nc\n",)),
        Expect(conn=1, count=3),
        Close(conn=1),
    )
)


def _plays(
    serial: list[tuple[tuple[bytes, ...], Outcome]], pipelined: tuple[tuple[bytes, ...], Outcome]
) -> Transcript:
    transcript = Transcript()
    sent = b"a\nb\nbad\nc\n"
    transcript.conns = {0: ConnRecord(conn=0, sent=sent), 1: ConnRecord(conn=1, sent=sent)}
    steps = [1, 3, 5, 7]
    transcript.expects = [
        ExpectResult(step, 0, 1, frames, outcome, 0.01)
        for step, (frames, outcome) in zip(steps, serial, strict=False)
    ]
    transcript.expects.append(ExpectResult(10, 1, 3, pipelined[0], pipelined[1], 0.01))
    return transcript


CLOSED_AT_BAD = [((OK_A,), "ok"), ((OK_B,), "ok"), ((), "eof"), ((), "eof")]


def test_a_reset_that_took_replies_after_a_close_with_requests_to_come_is_a_note() -> None:
    verdict = get_property("pipelining").judge(
        SCENARIO, _plays(CLOSED_AT_BAD, ((OK_A,), "rst")), LINE
    )
    assert verdict.ok
    assert verdict.note is not None and verdict.note.topic == "replies lost to a reset"
    assert "lost 1 reply of the 2 sent" in verdict.note.text


def test_a_reset_with_no_close_one_by_one_is_still_a_failure() -> None:
    """Pipelined requests that make the server reset, where one by one it answers all."""
    answered = [((OK_A,), "ok"), ((OK_B,), "ok"), ((b"OK bad",), "ok"), ((b"OK c",), "ok")]
    verdict = get_property("pipelining").judge(SCENARIO, _plays(answered, ((OK_A,), "rst")), LINE)
    assert not verdict.ok and verdict.kind == "closed"


def test_a_close_after_every_request_was_answered_does_not_excuse_a_reset() -> None:
    """One by one the server answered all, then closed: nothing explains the reset."""
    closed_last = [((OK_A,), "ok"), ((OK_B,), "ok"), ((b"OK bad",), "ok"), ((b"OK c",), "eof")]
    verdict = get_property("pipelining").judge(
        SCENARIO, _plays(closed_last, ((OK_A,), "rst")), LINE
    )
    assert not verdict.ok


def test_other_replies_than_a_prefix_are_a_mismatch_even_after_a_reset() -> None:
    verdict = get_property("pipelining").judge(
        SCENARIO, _plays(CLOSED_AT_BAD, ((OK_B,), "rst")), LINE
    )
    assert not verdict.ok and verdict.kind == "mismatch"


def test_fewer_replies_before_a_clean_close_at_a_refused_request_are_a_note() -> None:
    """A server that drops its queued replies when it closes on a request it refuses."""
    verdict = get_property("pipelining").judge(
        SCENARIO, _plays(CLOSED_AT_BAD, ((OK_A,), "eof")), LINE
    )
    assert verdict.ok
    assert verdict.note is not None and verdict.note.topic == "replies dropped at a close"


def test_fewer_replies_before_a_close_where_one_by_one_all_were_answered_fail() -> None:
    answered = [((OK_A,), "ok"), ((OK_B,), "ok"), ((b"OK bad",), "ok"), ((b"OK c",), "ok")]
    verdict = get_property("pipelining").judge(SCENARIO, _plays(answered, ((OK_A,), "eof")), LINE)
    assert not verdict.ok and verdict.kind == "closed"


HALF = Scenario(
    steps=(
        Send(conn=0, chunks=(b"a\nbad\nc\n",)),
        Expect(conn=0, count=2),
        Send(conn=1, chunks=(b"a\nbad\nc\n",)),
        HalfClose(conn=1),
        ExpectClose(conn=1),
    )
)


def _halves(
    c0: tuple[tuple[bytes, ...], Outcome], c1: tuple[tuple[bytes, ...], Outcome]
) -> Transcript:
    transcript = Transcript()
    sent = b"a\nbad\nc\n"
    transcript.conns = {0: ConnRecord(conn=0, sent=sent), 1: ConnRecord(conn=1, sent=sent)}
    transcript.expects = [
        ExpectResult(1, 0, 2, c0[0], c0[1], 0.01),
        ExpectResult(4, 1, -1, c1[0], c1[1], 0.01),
    ]
    return transcript


def test_half_close_excuses_a_loss_only_where_the_server_closed_without_one() -> None:
    half_close = get_property("half-close")
    # Without a half-close the server answered a, then closed on bad with c unread.
    excused = half_close.judge(HALF, _halves(((OK_A,), "eof"), ((), "rst")), LINE)
    assert excused.ok and excused.note is not None
    assert excused.note.topic == "replies lost to a reset"
    # Without a half-close it answered everything and kept the connection: a bug.
    kept = half_close.judge(HALF, _halves(((OK_A, OK_B), "ok"), ((OK_A,), "rst")), LINE)
    assert not kept.ok and kept.kind == "reset"
    # Closed on c1 with fewer replies, where c0 lost none at the same close: a note too.
    # (An ExpectClose that got its close ends ``ok``.)
    dropped = half_close.judge(HALF, _halves(((OK_A,), "eof"), ((), "ok")), LINE)
    assert dropped.ok and dropped.note is not None
    # It closed after answering every request: nothing explains a reset on c1.
    answered = _halves(((OK_A, b"OK bad", b"OK c"), "eof"), ((OK_A,), "rst"))
    assert not half_close.judge(HALF, answered, LINE).ok
