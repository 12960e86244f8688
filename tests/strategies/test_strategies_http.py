"""HTTP requests: every shape is a real RFC 9112 message (h11 says so), shrinking to a GET."""

from __future__ import annotations

import itertools

import h11
import pytest
from hypothesis import given, settings
from strategies_support import FAST, STREAM_CODECS, drawn, minimal

from wirefault.scenario import Send
from wirefault.strategies import (
    MalformedFrame,
    Requests,
    chunkings,
    http_messages,
    malformed_frames,
    requests,
    strictness_scenarios,
)
from wirefault.strategies.http_rules import RULES

HTTP = STREAM_CODECS["http"]
PLAIN_GET = b"GET / HTTP/1.1\r\nHost: wirefault\r\n\r\n"


def parse_as_server(data: bytes) -> list[tuple[h11.Request, bytes]]:
    """Each request h11 reads from ``data`` (then EOF), with its body; h11 errors propagate."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    parsed: list[tuple[h11.Request, bytes]] = []
    request, body = None, b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA or event is h11.PAUSED:
            return parsed
        if isinstance(event, h11.ConnectionClosed):
            return parsed
        if isinstance(event, h11.Request):
            request, body = event, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            parsed.append((request, body))
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is h11.MUST_CLOSE:
                return parsed
            conn.start_next_cycle()


@settings(FAST, max_examples=150)
@given(requests(HTTP, max_frames=3, max_payload=1024))
def test_every_request_is_a_valid_message_carrying_its_body(reqs: Requests) -> None:
    parsed = parse_as_server(reqs.data)
    assert [body for _, body in parsed] == list(reqs.payloads)
    assert all(0 < b < len(reqs.data) for b in reqs.boundaries)


@settings(FAST, max_examples=100)
@given(requests(HTTP, max_frames=3))
def test_only_the_last_request_may_close_the_connection(reqs: Requests) -> None:
    for frame in reqs.wire[:-1]:
        assert b" HTTP/1.1\r\n" in frame and b"Connection: close" not in frame


def test_requests_shrink_to_one_plain_get() -> None:
    found = minimal(requests(HTTP))
    assert found.wire == (PLAIN_GET,) and found.payloads == (b"",)


def test_strictness_scenarios_shrink_to_one_case_on_two_connections() -> None:
    found = minimal(strictness_scenarios(HTTP))
    assert found.connections() == [0, 1]


def test_strictness_examples_shrink_to_the_one_case_that_breaks_a_rule() -> None:
    # A failure among several cases shrinks to that case alone (Hypothesis drops the others).
    def bad(scenario) -> bytes:
        return b"".join(s.data for s in scenario.steps if isinstance(s, Send) and s.conn % 2)

    found = minimal(strictness_scenarios(HTTP), lambda sc: b"XX0\r\n" in bad(sc))
    assert found.connections() == [0, 1]
    assert bad(found) == (
        b"GET / HTTP/1.1\r\nHost: wirefault\r\nTransfer-Encoding: chunked\r\n"
        b"X-Wirefault-Rule: chunk-data-crlf\r\n\r\n1\r\naXX0\r\n\r\n"
    )


def test_a_body_is_forced_when_a_payload_is_asked_for() -> None:
    found = minimal(requests(HTTP, min_payload=2))
    ((request, body),) = parse_as_server(found.data)
    assert request.method in (b"POST", b"PUT") and len(body) >= 2


SHAPES = {
    "HEAD": lambda m: m.wire.startswith(b"HEAD "),
    "DELETE": lambda m: m.wire.startswith(b"DELETE "),
    "OPTIONS": lambda m: m.wire.startswith(b"OPTIONS "),
    "several chunks, an extension, a trailer": lambda m: (
        m.wire.count(b"\r\n0\r\n") == 0
        and b"chunked" in m.wire
        and m.wire.count(b";") >= 1
        and m.wire.endswith(b"\r\n\r\n")
        and b"\r\nX-" in m.wire.split(b"\r\n\r\n", 1)[1]
    ),
    "multipart, quoted odd boundary": lambda m: (
        b'multipart/form-data; boundary="' in m.wire
        and any(c in m.wire.split(b'boundary="')[1][:10] for c in b" (:?")
    ),
    "urlencoded": lambda m: b"application/x-www-form-urlencoded" in m.wire,
    "cookie with a quoted value": lambda m: b"Cookie: " in m.wire and b'="' in m.wire,
    "expect 100-continue": lambda m: b"Expect: 100-continue" in m.wire,
    "HTTP/1.0": lambda m: b" HTTP/1.0\r\n" in m.wire,
    "Connection: close": lambda m: b"Connection: close" in m.wire,
    "a tab inside a field value": lambda m: (
        b"\r\nX-" in m.wire and b"\t" in m.wire.split(b"\r\n\r\n")[0]
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_is_drawn(shape: str) -> None:
    messages = http_messages(max_frames=1, max_body=1024).map(lambda ms: ms[0])
    found = drawn(messages, SHAPES[shape])
    assert parse_as_server(found.wire)


def test_reassembly_cuts_fall_between_cr_and_lf_of_a_chunk_size_line() -> None:
    reqs = drawn(requests(HTTP, max_frames=1, min_payload=3), lambda r: b"chunked" in r.data)
    line = reqs.data.index(b"\r\n", reqs.data.index(b"\r\n\r\n") + 4)  # the chunk-size line's CR
    assert line in reqs.boundaries
    found = drawn(
        chunkings(reqs.data, boundaries=reqs.boundaries),
        lambda c: line + 1 in itertools.accumulate(len(chunk) for chunk in c),
    )
    ends = list(itertools.accumulate(len(chunk) for chunk in found))
    assert found[ends.index(line + 1)].endswith(b"\r")


@FAST
@given(malformed_frames(HTTP))
def test_every_http_malformation_names_its_rule_and_level(bad: MalformedFrame) -> None:
    if bad.kind == "garbage":
        return
    rule = RULES[bad.rule]
    assert bad.must_reject == (rule.level == "must")


def test_must_reject_kinds_are_exactly_those_of_must_rules() -> None:
    must = {
        drawn(malformed_frames(HTTP), lambda m, k=kind: m.kind == k).must_reject
        for kind in ("missing-host", "content-length-sign", "chunked-not-last")
    }
    should = drawn(malformed_frames(HTTP), lambda m: m.kind == "bad-chunk-terminator")
    assert must == {True} and not should.must_reject and should.rule == "chunk-data-crlf"
