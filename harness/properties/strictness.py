"""``strictness``: a request the RFC says a server must refuse is never served as valid.

For the ``http`` codec. Each example sends malformed requests that break rules
of RFC 9112/9110 (:mod:`wirefault.strategies.http_rules`), each on a fresh
connection after its valid twin on another (see
:mod:`wirefault.strategies.strictness`). By default the rules are the
``framing`` tier: every MUST rule, and the SHOULD rules of chunk syntax whose
leniency is a published request-smuggling vector. It fails when:

* ``reject`` rules: the malformed request's answer is a 2xx or 3xx (a 4xx, a
  5xx, a close or silence are all refusals);
* ``close`` rules: any response followed it on the same connection (the
  request pipelined behind it answered, or the rest of its bytes read as
  another request), where the server must have closed after answering;
* ``desync`` rules: the request pipelined behind it got a 2xx or 3xx on the
  same connection, the server having read a 2^64 + n chunk as n.

A first answer on a fresh connection is the answer to the first request sent
on it, so a 2xx is only blamed on the request it answers. For ``close`` and
``desync`` the valid twin must first show that the server does answer a
request pipelined behind another (one that closes after every request cannot
fail them). Rules a server breaks on purpose are left out with
``Strictness(skip=...)`` (``--skip-rule``); ``level="must"`` (``--rule-level
must``) holds it to the MUST rules alone, ``level="should"`` adds every SHOULD
rule (chunk-size whitespace, method and version tokens...). Replays judge the
rule the saved request names, whatever the level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.properties.base import Property, PropertyContext, Verdict
from wirefault.scenario import Scenario, Send
from wirefault.strategies.http_rules import RULES, TIERS, Rule, Tier
from wirefault.strategies.strictness import MARKER, rule_of, strictness_scenarios
from wirefault.transcript import Transcript

__all__ = ["Strictness", "configure_strictness"]

_PREVIEW = 160
MARKED_LINE = re.compile(rb"\r\n" + MARKER + rb": [a-z0-9-]+\r\n", re.IGNORECASE)


def _status(frame: bytes) -> int:
    """The status code of a canonical response frame (0 if it has none)."""
    parts = frame.split(b"\r\n", 1)[0].split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _accepted(frame: bytes) -> bool:
    return 200 <= _status(frame) < 400


def _status_line(frame: bytes) -> str:
    return frame.split(b"\r\n", 1)[0].decode("latin-1")


class Strictness(Property):
    """A request the RFC says must be refused gets a 4xx or a close, never a 2xx or 3xx.

    Args:
        level: the tier of rules examples are drawn from: ``must``, ``framing``
            (default: MUST rules and the SHOULD rules smuggling came from) or ``should``.
        skip: rule ids to leave out of the examples.

    Raises:
        UsageError: an unknown level or rule id.
    """

    name: ClassVar[str] = "strictness"
    summary: ClassVar[str] = (
        "a request the RFC says must be refused gets a 4xx or a close, never a 2xx or 3xx (http)"
    )
    needs_framing: ClassVar[bool] = True

    def __init__(self, *, level: Tier = "framing", skip: Iterable[str] = ()) -> None:
        if level not in TIERS:
            raise UsageError(f"strictness: level must be one of {', '.join(TIERS)}, got {level!r}")
        self.level: Tier = level
        self.skip = frozenset(skip)
        unknown = sorted(self.skip - set(RULES))
        if unknown:
            raise UsageError(
                f"unknown HTTP rule(s) to skip: {', '.join(unknown)}; valid: {', '.join(RULES)}"
            )

    def applies_to(self, codec: Codec) -> bool:
        """Only HTTP servers have RFC 9112 rules to follow."""
        return codec.name == "http" and super().applies_to(codec)

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return strictness_scenarios(
            codec, deadline=ctx.deadline, probe=ctx.probe, level=self.level, skip=self.skip
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        for twin_conn in range(0, len(scenario.connections()), 2):
            verdict = self._judge_case(scenario, transcript, twin_conn)
            if not verdict.ok:
                return verdict
        return Verdict.passed()

    def _judge_case(self, scenario: Scenario, transcript: Transcript, twin_conn: int) -> Verdict:
        """The verdict on one case: its twin on ``twin_conn``, the bad request on the next."""
        bad_sent = _sent(scenario, twin_conn + 1)
        rule = rule_of(bad_sent) or rule_of(_sent(scenario, twin_conn))
        if rule is None:
            return Verdict.passed()  # not a strictness case: nothing to hold it to
        twin = [f for r in transcript.expects_on(twin_conn) for f in r.frames]
        bad = [f for r in transcript.expects_on(twin_conn + 1) for f in r.frames]
        if rule.check == "reject":
            if bad and _accepted(bad[0]):
                answered = f"the server answered {_status_line(bad[0])}"
                return self._failed(rule, bad_sent, answered, twin)
            return Verdict.passed()
        if len(twin) < 2 or not _accepted(twin[1]):
            return Verdict.passed()  # it does not serve pipelined requests: nothing to tell
        if rule.check == "close" and len(bad) >= 2:
            # Any second response shows the connection was read on after the first answer:
            # the pipelined request, or the rest of the bad one taken for a request.
            what = (
                f"the server answered {_status_line(bad[0])}, then {_status_line(bad[1])} on the "
                "same connection instead of closing"
            )
            return self._failed(rule, bad_sent, what, twin)
        if rule.check == "desync" and len(bad) >= 2 and _accepted(bad[1]):
            what = (
                f"the server answered {_status_line(bad[0])}, then {_status_line(bad[1])} to the "
                "request pipelined behind it on the same connection: it framed the malformed "
                "request as a complete, shorter one"
            )
            return self._failed(rule, bad_sent, what, twin)
        return Verdict.passed()

    @staticmethod
    def _failed(rule: Rule, sent: bytes, what: str, twin: list[bytes]) -> Verdict:
        shown = MARKED_LINE.sub(b"\r\n", sent)  # the marker says nothing a reader needs
        preview = repr(shown[:_PREVIEW]) + ("..." if len(shown) > _PREVIEW else "")
        done_right = f"; its valid twin got {_status_line(twin[0])}" if twin else ""
        return Verdict.failed(
            f"{rule.describe()} [rule {rule.id}]. To {preview} {what}{done_right}. "
            f"If the leniency is deliberate, leave the rule out with --skip-rule {rule.id}",
            "lenient",
        )


def _sent(scenario: Scenario, conn: int) -> bytes:
    return b"".join(s.data for s in scenario.steps if isinstance(s, Send) and s.conn == conn)


def configure_strictness(
    properties: list[Property], *, level: str | None = None, skip: str | None = None
) -> list[Property]:
    """``properties`` with ``strictness`` held to ``level`` and without the rules in ``skip``.

    Args:
        level: ``must``, ``framing`` or ``should`` (None: ``framing``).
        skip: comma-separated rule ids (``--skip-rule``), or None.

    Raises:
        UsageError: an unknown level or rule id.
    """
    ids = [s.strip() for s in (skip or "").split(",") if s.strip()]
    chosen = level or "framing"
    tier = next((t for t in TIERS if t == chosen), None)
    if tier is None:
        raise UsageError(f"--rule-level must be one of {', '.join(TIERS)}, got {chosen!r}")
    configured = Strictness(level=tier, skip=ids)
    return [configured if p.name == Strictness.name else p for p in properties]
