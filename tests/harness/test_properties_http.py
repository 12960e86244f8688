"""strictness and growth judges on hand-made transcripts: what fails, and what must not."""

from __future__ import annotations

import pytest

from wirefault.codecs import get_codec
from wirefault.errors import UsageError
from wirefault.properties import select_properties
from wirefault.properties.growth import FLOOR, Growth
from wirefault.properties.strictness import Strictness, configure_strictness
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.strategies.growth import REPEATS, SIZES, growth_shapes
from wirefault.strategies.growth import _scenario as growth_scenario
from wirefault.strategies.http_rules import RULES, rules_at
from wirefault.transcript import ConnRecord, Event, ExpectResult, Transcript

HTTP = get_codec("http")
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
PROBE = HTTP.probe()


def _scenario(rule: str, bad: bytes, good: bytes, *, pipelined: bool = False) -> Scenario:
    marker = b"X-Wirefault-Rule: " + rule.encode() + b"\r\n\r\n"
    tail = PROBE if pipelined else b""
    count = 2 if pipelined else 1
    return Scenario(
        steps=(
            Send(conn=0, chunks=(good.replace(b"\r\n\r\n", b"\r\n" + marker) + tail,)),
            Expect(conn=0, count=count),
            Close(conn=0),
            Send(conn=1, chunks=(bad.replace(b"\r\n\r\n", b"\r\n" + marker) + tail,)),
            Expect(conn=1, count=count),
            Close(conn=1),
        )
    )


def _answers(twin: list[bytes], bad: list[bytes]) -> Transcript:
    transcript = Transcript()
    for conn, (step, frames) in enumerate(((1, twin), (4, bad))):
        transcript.conns[conn] = ConnRecord(conn=conn, frames=list(frames))
        transcript.expects.append(ExpectResult(step, conn, 1, tuple(frames), "ok", 0.001))
    return transcript


MISSING_HOST = _scenario(
    "host-required", b"GET / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: w\r\n\r\n"
)


def test_a_2xx_to_a_must_reject_request_fails_naming_the_rule_and_section() -> None:
    verdict = Strictness().judge(MISSING_HOST, _answers([OK], [OK]), HTTP)
    assert not verdict.ok
    assert "RFC 9112 section 3.2" in verdict.message and "[rule host-required]" in verdict.message
    assert "--skip-rule host-required" in verdict.message


def test_a_4xx_or_a_close_passes() -> None:
    assert Strictness().judge(MISSING_HOST, _answers([OK], [BAD]), HTTP).ok
    assert Strictness().judge(MISSING_HOST, _answers([OK], []), HTTP).ok


def test_close_rules_fail_only_when_the_pipelined_request_is_answered() -> None:
    both = (
        b"POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n0\r\n\r\n"
    )
    scenario = _scenario("close-after-te-and-cl", both, both, pipelined=True)
    judge = Strictness().judge
    assert not judge(scenario, _answers([OK, OK], [OK, OK]), HTTP).ok
    assert judge(scenario, _answers([OK, OK], [OK]), HTTP).ok  # closed after answering
    # A server that closes after every request shows nothing either way.
    assert judge(scenario, _answers([OK], [OK, OK]), HTTP).ok


def test_a_close_rule_fails_on_any_second_response_on_the_connection() -> None:
    # waitress 3.0.2 ignores Transfer-Encoding in HTTP/1.0, keeps the connection, and reads
    # the chunked body as the next request (a 400): it did not close after the message.
    http10 = (
        b"POST / HTTP/1.0\r\nHost: w\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n1\r\nA\r\n0\r\n\r\n"
    )
    scenario = _scenario("close-after-http10-te", http10, http10, pipelined=True)
    verdict = Strictness().judge(scenario, _answers([OK, OK], [OK, BAD]), HTTP)
    assert not verdict.ok and "then HTTP/1.1 400 Bad Request on the same connection" in (
        verdict.message
    )
    # A desync rule still needs the pipelined request served: a 400 there is no desync.
    overflow = b"POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n"
    desync = _scenario("chunk-size-overflow", overflow, overflow, pipelined=True)
    assert Strictness().judge(desync, _answers([OK, OK], [OK, BAD]), HTTP).ok
    assert not Strictness().judge(desync, _answers([OK, OK], [OK, OK]), HTTP).ok


BAD_TERMINATOR = _scenario(
    "chunk-data-crlf",
    b"POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nAXX0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n",
)


def test_a_framing_should_rule_fails_saying_it_is_a_should_and_why_it_is_judged() -> None:
    verdict = Strictness().judge(BAD_TERMINATOR, _answers([OK], [OK]), HTTP)
    assert not verdict.ok
    assert (
        "SHOULD reject (RFC 9112 section 2.2); leniency here is a request-smuggling primitive "
        "(CVE-2025-43859" in verdict.message
    )
    assert "(MUST)" not in verdict.message and "[rule chunk-data-crlf]" in verdict.message


def test_the_default_tier_is_framing_must_rules_and_should_rules_with_smuggling_evidence() -> None:
    assert Strictness().level == "framing"
    configured = configure_strictness(select_properties(HTTP))
    (default,) = [p for p in configured if p.name == "strictness"]
    assert isinstance(default, Strictness) and default.level == "framing"
    framing = {r.id for r in rules_at("framing")}
    must = {r.id for r in rules_at("must")}
    should = {r.id for r in rules_at("should")}
    assert must < framing < should
    assert framing - must == {"chunk-data-crlf", "chunk-size-hex", "chunk-line-crlf"}
    assert {"chunk-size-whitespace", "method-token", "http-version"} <= should - framing
    # The RFC tag stays honest: a framing SHOULD rule is no must-reject rule.
    assert not any(RULES[r].must_reject for r in framing - must)


def test_an_unknown_rule_level_is_a_usage_error_listing_the_levels() -> None:
    with pytest.raises(UsageError, match="must, framing, should"):
        configure_strictness(select_properties(HTTP), level="may")


def _growth_transcript(
    times: dict[int, float],
    timed_out: set[int] = frozenset(),
    plays: dict[int, list[float]] | None = None,
    pending: int = 0,
) -> tuple[Scenario, Transcript]:
    """Every play of a size takes ``times[size]``, or the size's ``plays`` in turn; those
    that time out leave ``pending`` bytes of an unfinished response frame."""
    shape = growth_shapes(get_codec("line"))[1]  # small frames, at SIZES
    scenario = growth_scenario(shape)
    transcript = Transcript()
    sends = [s for s in scenario.steps if isinstance(s, Send)]
    for send in sends:
        index = send.conn // REPEATS
        took = times[SIZES[index]]
        if plays and SIZES[index] in plays:
            took = plays[SIZES[index]][send.conn % REPEATS]
        transcript.events += [Event(0.0, "open", send.conn), Event(0.0, "send", send.conn)]
        outcome = "timeout" if SIZES[index] in timed_out else "ok"
        left = pending if outcome == "timeout" else 0
        transcript.expects.append(ExpectResult(0, send.conn, 1, (b"x",), outcome, took, left))
    return scenario, transcript


def test_growth_fails_on_quadratic_times_and_names_shape_and_sizes() -> None:
    times = {size: 1e-3 + (size / SIZES[-1]) ** 2 * 2.0 for size in SIZES}
    verdict = Growth().judge(*_growth_transcript(times), get_codec("line"))
    assert not verdict.ok
    assert "small-frames" in verdict.message and "64 KiB" in verdict.message


def test_growth_is_not_hidden_by_stalls_in_two_plays_of_the_smaller_size() -> None:
    """Seen on the zoo's quadratic Cookie server: x12 from 8 to 32 KiB, fastest to fastest,
    but two of the three 8 KiB plays stalled to 40 ms, and 318 ms < 8 x their median."""
    times = {size: 0.32 * (size / SIZES[-2]) ** 2 + 1e-4 for size in SIZES}
    times[SIZES[-1]] = 0.002  # refused at once above 32 KiB, as that server does
    eight = SIZES[-4]
    plays = {eight: [times[eight] * 2.1, times[eight], times[eight] * 2.2]}
    verdict = Growth().judge(*_growth_transcript(times, plays=plays), get_codec("line"))
    assert not verdict.ok


def test_growth_does_not_take_replies_cut_short_for_slow_ones() -> None:
    """Seen on the zoo's ignore-short-send server: from 32 KiB on, 8 KiB of the reply came
    and then nothing until the deadline. That is a short write, not slow work."""
    times = {size: 0.001 for size in SIZES}
    big = {SIZES[-2], SIZES[-1]}
    times.update(dict.fromkeys(big, 1.0))
    cut_short = _growth_transcript(times, timed_out=big, pending=8192)
    assert Growth().judge(*cut_short, get_codec("line")).ok
    # The same times with nothing at all until the deadline still fail: no answer at
    # two sizes in a row, after fast ones, is growth (or worse) as far as time can tell.
    silent = _growth_transcript(times, timed_out=big)
    assert not Growth().judge(*silent, get_codec("line")).ok


def test_growth_passes_linear_times_however_slow() -> None:
    times = {size: 0.002 + size / SIZES[-1] * 3.0 for size in SIZES}
    assert Growth().judge(*_growth_transcript(times), get_codec("line")).ok


def test_growth_passes_fast_answers_whatever_their_ratios() -> None:
    times = {size: (size / SIZES[-1]) ** 2 * FLOOR * 0.9 + 1e-5 for size in SIZES}
    assert Growth().judge(*_growth_transcript(times), get_codec("line")).ok


def _judged_early(transcript: Transcript, sizes: set[int]) -> Transcript:
    for result in transcript.expects:
        if SIZES[result.conn // REPEATS] in sizes:
            transcript.events.append(Event(0.05, "silent", result.conn))
    return transcript


def test_growth_wants_silences_after_answered_sizes_waited_out() -> None:
    """A busy parser's slow answer, judged silent early, would be timed as fast."""
    fast = {size: 0.001 for size in SIZES}
    scenario, transcript = _growth_transcript(fast, timed_out={SIZES[-2]})
    assert Growth().wants_full_wait(scenario, _judged_early(transcript, {SIZES[-2]}))


def test_growth_does_not_wait_out_replies_cut_short_mid_frame() -> None:
    fast = {size: 0.001 for size in SIZES}
    scenario, transcript = _growth_transcript(fast, timed_out={SIZES[-2]}, pending=8192)
    assert not Growth().wants_full_wait(scenario, _judged_early(transcript, {SIZES[-2]}))


def test_growth_does_not_wait_out_a_shape_not_answered_even_at_its_smallest() -> None:
    """Nothing to compare with: waiting every deadline out would only cost them."""
    fast = {size: 0.001 for size in SIZES}
    scenario, transcript = _growth_transcript(fast, timed_out=set(SIZES))
    assert not Growth().wants_full_wait(scenario, _judged_early(transcript, set(SIZES)))
    scenario, transcript = _growth_transcript(fast)
    assert not Growth().wants_full_wait(scenario, transcript)  # nothing judged early
