"""Scenarios for the ``strictness`` property: a request the RFC says a server must refuse.

Each scenario plays one malformed kind (:mod:`wirefault.strategies.http_malformed`)
against its valid twin, on two fresh connections::

    c0  the request done right [+ the probe, pipelined]   expect 1 [2]   close
    c1  the malformed request  [+ the probe, pipelined]   [half-close]   expect 1 [2]   close

The probe is pipelined behind both for the rules whose violation shows on the
next request (``close``, ``desync``); c1 half-closes after a request a correct
server reads as unfinished (a 2^64-byte chunk), so it is not left waiting.
Requests use the probe's method, target and Host, so they reach what the
server really serves, and carry ``X-Wirefault-Rule: <rule id>`` as their
last field: the judge, and anyone reading the server's logs or a replay file,
knows which rule a request tests.
"""

from __future__ import annotations

import re

import h11
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.scenario import Close, Expect, HalfClose, Scenario, Send, Step
from wirefault.strategies._common import (
    check_backend,
    check_seconds,
    check_transport,
    probe_request,
)
from wirefault.strategies.http_malformed import HttpCase, RequestHead, http_cases
from wirefault.strategies.http_rules import RULES, Level, Rule, rules_at

__all__ = ["MARKER", "request_head", "rule_of", "strictness_scenarios"]

#: The field that names the rule a request tests.
MARKER = b"X-Wirefault-Rule"
_MARKED = re.compile(rb"\r\n" + MARKER + rb": ([a-z0-9-]+)\r\n", re.IGNORECASE)


def request_head(probe: bytes) -> RequestHead:
    """The method, target and Host of ``probe`` (``GET /``, Host ``wirefault`` if unreadable).

    Example::

        >>> request_head(b"GET /health HTTP/1.1\\r\\nHost: api\\r\\n\\r\\n").target
        b'/health'
    """
    conn = h11.Connection(h11.SERVER)
    try:
        conn.receive_data(probe)
        event = conn.next_event()
    except h11.ProtocolError:
        return RequestHead(method=b"GET", target=b"/")
    if not isinstance(event, h11.Request):
        return RequestHead(method=b"GET", target=b"/")
    host = dict(event.headers).get(b"host", b"wirefault")
    return RequestHead(method=event.method, target=event.target, host=host)


def rule_of(sent: bytes) -> Rule | None:
    """The rule a request names in its ``X-Wirefault-Rule`` field, if it names a known one.

    Example::

        >>> rule_of(b"GET / HTTP/1.1\\r\\nX-Wirefault-Rule: host-required\\r\\n\\r\\n").section
        'RFC 9112 section 3.2'
    """
    found = _MARKED.search(sent)
    return RULES.get(found.group(1).decode("ascii")) if found else None


def _scenario(case: HttpCase, probe: bytes) -> Scenario:
    pipelined = case.rule.check != "reject"
    tail = probe if pipelined else b""
    count = 2 if pipelined else 1
    steps: list[Step] = [
        Send(conn=0, chunks=(case.good + tail,)),
        Expect(conn=0, count=count),
        Close(conn=0),
        Send(conn=1, chunks=(case.bad + tail,)),
    ]
    if not case.complete:
        steps.append(HalfClose(conn=1))
    steps += [Expect(conn=1, count=count), Close(conn=1)]
    return Scenario(steps=tuple(steps))


def strictness_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    probe: bytes | None = None,
    level: Level = "must",
    skip: frozenset[str] = frozenset(),
) -> SearchStrategy[Scenario]:
    """A malformed request breaking a rule at ``level`` and its valid twin (module docstring).

    Args:
        codec: the ``http`` codec.
        level: ``must`` (the rules a server MUST follow) or ``should`` (those too).
        skip: rule ids left out (a leniency the server keeps on purpose).

    Raises:
        UsageError: not a stream codec, an unknown rule id, or every rule skipped.

    Example::

        @given(strictness_scenarios(get_codec("http"), skip=frozenset({"obs-fold"})))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.connections() == [0, 1]
    """
    check_transport("strictness_scenarios", codec, "stream", "an http codec")
    check_backend("strictness_scenarios", backend)
    check_seconds("strictness_scenarios", "deadline", deadline, positive=True)
    unknown = sorted(skip - set(RULES))
    if unknown:
        raise UsageError(
            f"strictness_scenarios: unknown rule(s) {', '.join(unknown)}; valid: {', '.join(RULES)}"
        )
    chosen = [rule for rule in rules_at(level) if rule.id not in skip]
    if not chosen:
        raise UsageError(f"strictness_scenarios: every {level} rule is skipped; leave one in")
    probe = probe_request(codec, probe)
    base = request_head(probe)
    kinds = []
    for rule in chosen:
        marker = MARKER + b": " + rule.id.encode("ascii")
        head = RequestHead(base.method, base.target, base.host, (*base.extra, marker))
        kinds += http_cases(head=head, rules=frozenset({rule.id}))
    return st.one_of(*kinds).map(lambda case: _scenario(case, probe))
