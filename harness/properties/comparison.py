"""Properties that compare two plays of the same requests: they must agree.

The server is its own oracle: the same requests sent whole and in pieces, one
by one and pipelined, read fast and read slowly must get the same responses.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis.strategies import SearchStrategy

import wirefault.strategies.scenarios as built
from wirefault.codecs.base import Codec
from wirefault.errors import FrameError
from wirefault.properties.base import (
    Note,
    Property,
    PropertyContext,
    Verdict,
    outcome_group,
    responses,
    short,
)
from wirefault.properties.kinds import FailureKind
from wirefault.properties.render import count, ended, first_difference, outcome_kind, show
from wirefault.scenario import Scenario, Send
from wirefault.transcript import ExpectResult, Transcript

__all__ = [
    "EchoProperty",
    "LargePayload",
    "Pipelining",
    "Reassembly",
    "closed_unanswered",
    "lost_at_close_note",
]


def _combined(results: list[ExpectResult], codec: Codec) -> tuple[list[bytes], str]:
    frames: list[bytes] = []
    for r in results:
        frames.extend(responses(codec, r))
    if not codec.framed and frames:
        frames = [b"".join(frames)]
    # An unframed codec cannot tell whether an answer was due, so a read that went
    # quiet is not an ending there: only closes and the bytes themselves compare.
    quiet = ("ok",) if codec.framed else ("ok", "timeout")
    group = next((outcome_group(r) for r in results if r.outcome not in quiet), "ok")
    return frames, group


def closed_unanswered(transcript: Transcript, codec: Codec, conn: int, replies: int) -> bool:
    """Whether the server closed ``conn`` with fewer than ``replies`` answered of its requests.

    That is: the server ended the connection (EOF or reset) having answered fewer
    complete requests than the client sent on it.
    """
    if not any(r.outcome in ("eof", "rst") for r in transcript.expects_on(conn)):
        return False
    try:
        sent = codec.request_decoder().feed(transcript.conn(conn).sent)
    except FrameError:
        return False  # requests it cannot count are no excuse
    return replies < len(sent)


def _lost_at_a_refusal(
    transcript: Transcript, codec: Codec, frames: tuple[list[bytes], list[bytes]]
) -> Note | None:
    """A note when the only difference is replies lost as the server closed; else None.

    When the server closed one play at a request it did not answer, it closes on
    these requests whatever the split. If the other play also ended closed, with a
    prefix of the first play's replies, the replies it lacks were lost to that
    close, not to how the requests were sent: a reset throws away, at the client,
    replies the server had sent (the kernel resets a socket closed with bytes still
    unread, which is where later requests of one write are); a server may also drop
    replies it had queued when it closes on a request it refuses.
    """
    if not codec.framed:
        return None  # no count of replies to hold a prefix against
    for short_side, long_side in ((0, 1), (1, 0)):
        cut, full = frames[short_side], frames[long_side]
        ending = next(
            (r.outcome for r in transcript.expects_on(short_side) if r.outcome != "ok"), None
        )
        if (
            ending in ("eof", "rst")
            and len(cut) < len(full)
            and full[: len(cut)] == cut
            and closed_unanswered(transcript, codec, long_side, len(full))
        ):
            return lost_at_close_note(len(full) - len(cut), len(full), reset=ending == "rst")
    return None


def lost_at_close_note(lost: int, replies: int, *, reset: bool) -> Note:
    """The note for ``lost`` of ``replies`` replies lost as the server closed on a request."""
    if reset:
        return Note(
            "replies lost to a reset",
            f"the server closed the connection at a request it did not answer, with later "
            f"requests still unread, so the kernel reset it and the client lost "
            f"{count(lost, 'reply')} of the {replies} sent (TCP's doing, not a framing bug; "
            "a lingering close, reading to EOF after shutting down writing, keeps them)",
        )
    return Note(
        "replies dropped at a close",
        f"the server closed the connection at a request it did not answer, and when "
        f"later requests had reached it too it dropped {count(lost, 'reply')} of the "
        f"{replies} owed to the requests before (it closes on that request however it is sent; "
        "which replies it sends first depends on timing)",
    )


def _compare(transcript: Transcript, codec: Codec, first: str, second: str) -> Verdict:
    """Pass when both plays got the same responses and ended the same way.

    Replies lost as the server closed on a request are no difference
    (:func:`_lost_at_a_refusal`).
    The message gives both plays' counts and endings, then the first response that
    differs, by its index, shown whole up to :data:`~wirefault.properties.render.SHOW_LIMIT`.
    """
    a, a_end = _combined(transcript.expects_on(0), codec)
    b, b_end = _combined(transcript.expects_on(1), codec)
    if a == b and a_end == b_end:
        return Verdict.passed()
    if a_end == b_end == "closed" and (note := _lost_at_a_refusal(transcript, codec, (a, b))):
        return Verdict.passed(note)
    index = first_difference(a, b)
    both = index is not None and index < len(a) and index < len(b)
    kind: FailureKind = "mismatch" if both else outcome_kind(b_end if b_end != "ok" else a_end)
    if kind == "other":
        kind = "mismatch"
    text = (
        f"{first}, the requests got {count(len(a))} and {ended(a_end)}; "
        f"{second}, they got {count(len(b))} and {ended(b_end)}"
    )
    if index is not None:
        mine = show(a[index]) if index < len(a) else "nothing"
        theirs = show(b[index]) if index < len(b) else "nothing"
        text += f". First difference, response #{index + 1}: {first} {mine}; {second} {theirs}"
    return Verdict.failed(text, kind)


class Reassembly(Property):
    """Responses to requests sent whole equal those when sent in any chunking."""

    name: ClassVar[str] = "reassembly"
    summary: ClassVar[str] = "requests split into any chunks get the same responses as sent whole"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.reassembly_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        chunks = next(
            (len(s.chunks) for s in scenario.steps if isinstance(s, Send) and s.conn == 1), 1
        )
        verdict = _compare(transcript, codec, "sent whole", f"sent in {chunks} chunks")
        if not verdict.ok and transcript.conn(1).cuts_seen() == 0:
            # The server read none of the cuts on its own (it was too slow to read, and
            # the chunks joined): whatever differs, it is not how it handles a split.
            return Verdict.passed()
        return verdict


class Pipelining(Property):
    """Requests sent in one write get the same responses as sent one by one."""

    name: ClassVar[str] = "pipelining"
    summary: ClassVar[str] = "requests pipelined in one write get the same responses as one by one"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.pipelining_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        return _compare(transcript, codec, "one by one", "pipelined in one write")


class LargePayload(Property):
    """Large frames read slowly come back the same as read fast (short writes handled)."""

    name: ClassVar[str] = "large-payload"
    summary: ClassVar[str] = "frames up to the maximum come back whole to a slow reader"

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.large_payload_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        for result in transcript.expects:
            if result.outcome == "timeout" and result.pending:
                reader = "slow" if result.conn == 1 else "fast"
                return Verdict.failed(
                    f"the server stopped mid-frame: the {reader} reader "
                    f"(c{result.conn}) got {result.pending:,} bytes of an unfinished response, "
                    f"then nothing for {result.elapsed:.1f}s (a short write left unsent?)",
                    "short-write",
                )
        return _compare(transcript, codec, "read by a fast reader", "read by a slow reader")


class EchoProperty(Property):
    """Opt-in oracle: each response equals its request's payload."""

    name: ClassVar[str] = "echo"
    summary: ClassVar[str] = "each response equals the request (opt-in: --oracle echo)"
    transports: ClassVar[frozenset[str]] = frozenset({"stream", "datagram"})
    opt_in: ClassVar[bool] = True

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return built.echo_scenarios(
            codec, backend=ctx.backend, deadline=ctx.deadline, samples=ctx.samples
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        record = transcript.conn(0)
        if codec.transport == "datagram":
            # Compared as sets: a re-sent datagram (UDP loss) may be answered twice.
            sent = [c for s in scenario.steps if isinstance(s, Send) for c in s.chunks]
            got = [f for r in transcript.expects_on(0) for f in r.frames]
            strange = [f for f in got if f not in sent]
            missing = [d for d in sent if d not in got]
            if strange or missing:
                return Verdict.failed(
                    f"sent datagrams {short(sent)}, got back {short(got)} "
                    f"({len(strange)} not sent, {len(missing)} never echoed)",
                    "mismatch",
                )
            return Verdict.passed()
        decoder = codec.request_decoder()
        requests = decoder.feed(record.sent)
        if not codec.framed:
            if codec.join(record.frames) != record.sent:
                return Verdict.failed(
                    f"sent {len(record.sent):,} bytes {show(record.sent)}, got back "
                    f"{len(record.received):,}: {show(record.received)}",
                    "mismatch",
                )
            return Verdict.passed()
        got = [codec.normalise(f) for r in transcript.expects_on(0) for f in r.frames]
        expected = [codec.normalise(r) for r in requests]
        index = first_difference(expected, got)
        if index is not None:
            mine = show(expected[index]) if index < len(expected) else "nothing"
            theirs = show(got[index]) if index < len(got) else "nothing"
            return Verdict.failed(
                f"sent {count(len(expected), 'request')}, got back {count(len(got))}; "
                f"first difference, response #{index + 1}: expected {mine}, got {theirs}",
                "mismatch",
            )
        return Verdict.passed()
