"""Scenarios for the ``strictness`` property: requests the RFC says a server must refuse.

Each scenario plays one to :data:`MAX_CASES` malformed requests
(:mod:`wirefault.strategies.http_malformed`), each against its valid twin, on
two fresh connections per case (case ``i`` on ``c2i`` and ``c2i+1``)::

    c0  the request done right [+ the probe, pipelined]   expect 1 [2]   close
    c1  the malformed request  [+ the probe, pipelined]   [half-close]   expect 1 [2]   close
    c2  ... the next case

The probe is pipelined behind both for the rules whose violation shows on the
next request (``close``, ``desync``); c1 half-closes after a request a correct
server reads as unfinished (a 2^64-byte chunk), so it is not left waiting.
Requests use the probe's method, target and Host, so they reach what the
server really serves, and carry ``X-Wirefault-Rule: <rule id>`` as their
last field: the judge, and anyone reading the server's logs or a replay file,
knows which rule a request tests. Several cases per example cover the rules
(two dozen kinds) in few examples; a failure shrinks to the one case that shows it.
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
from wirefault.strategies.http_rules import RULES, Rule, Tier, rules_at

__all__ = ["MARKER", "request_head", "rule_of", "strictness_scenarios"]

#: The most malformed requests one example plays (each on its own pair of connections).
MAX_CASES = 6

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


def _case_steps(case: HttpCase, probe: bytes, twin: int) -> list[Step]:
    """The steps of one case: its twin on connection ``twin``, the bad request on the next."""
    pipelined = case.rule.check != "reject"
    tail = probe if pipelined else b""
    count = 2 if pipelined else 1
    bad = twin + 1
    steps: list[Step] = [
        Send(conn=twin, chunks=(case.good + tail,)),
        Expect(conn=twin, count=count),
        Close(conn=twin),
        Send(conn=bad, chunks=(case.bad + tail,)),
    ]
    if not case.complete:
        steps.append(HalfClose(conn=bad))
    steps += [Expect(conn=bad, count=count), Close(conn=bad)]
    return steps


def _scenario(cases: list[HttpCase], probe: bytes) -> Scenario:
    steps = [step for i, case in enumerate(cases) for step in _case_steps(case, probe, 2 * i)]
    return Scenario(steps=tuple(steps))


def strictness_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    probe: bytes | None = None,
    level: Tier = "framing",
    skip: frozenset[str] = frozenset(),
) -> SearchStrategy[Scenario]:
    """Malformed requests breaking rules at ``level``, each with its valid twin (module docstring).

    Args:
        codec: the ``http`` codec.
        level: ``must`` (the rules a server MUST follow), ``framing`` (those and the
            SHOULD rules request smuggling came from) or ``should`` (every SHOULD too).
        skip: rule ids left out (a leniency the server keeps on purpose).

    Raises:
        UsageError: not a stream codec, an unknown rule id, or every rule skipped.

    Example::

        @given(strictness_scenarios(get_codec("http"), skip=frozenset({"obs-fold"})))
        def test_shape(scenario: Scenario) -> None:
            assert len(scenario.connections()) % 2 == 0
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
    cases = st.lists(st.one_of(*kinds), min_size=1, max_size=MAX_CASES)
    return cases.map(lambda drawn: _scenario(drawn, probe))
