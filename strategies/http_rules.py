"""The RFC 9112/9110 rules that malformed HTTP requests break, and what each asks of a server.

Every malformed HTTP kind (:mod:`wirefault.strategies.http_malformed`) names
the :class:`Rule` it breaks. A rule's ``level`` is what the RFC requires of a
server that receives such a request:

* ``must`` — a MUST: the request is refused (or, for ``check="close"``, the
  connection closed after the answer). Where the RFC lets the server either
  reject an element or repair it (replace a bare CR, a NUL or an obs-fold by
  SP, ignore a line that starts with whitespace), the request is built so that
  the repaired message breaks a MUST rule too, and the rule says so;
* ``should`` — the grammar is broken and RFC 9112 section 2.2 says the server
  SHOULD answer 400 and close, or 9110 section 2.2 lets it recover;
* ``may`` — the request is not wrong, or the RFC lets a server take it (a long
  line, a control byte it retains): only a hang is a bug.

A SHOULD rule may also carry ``smuggling``: the published request-smuggling
vulnerabilities (CVE or advisory) that came from a server taking such a request.
Those rules change where a message ends, so one lenient server behind another
that reads the bytes differently can be made to see a request its front never
saw. The ``strictness`` property judges a :data:`Tier` of rules:

* ``must`` — the MUST rules only;
* ``framing`` (the default) — the MUST rules and the SHOULD rules with
  ``smuggling`` evidence (chunk syntax: the chunk-data terminator, the chunk-size
  digits, bare LF ending a chunk line). The RFC tag stays SHOULD: failure messages
  say "SHOULD reject", and why it is judged anyway;
* ``should`` — every MUST and SHOULD rule.

``check`` says how a violation shows: ``reject`` (the request itself got a
2xx or 3xx), ``close`` (a response followed it on the same connection, where
the server must have closed after answering), ``desync`` (the request
pipelined after it was answered: the server framed the bad request as a
complete, shorter one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wirefault.errors import UsageError

__all__ = ["RULES", "TIERS", "Rule", "Tier", "get_rule", "rules_at"]

Level = Literal["must", "should", "may"]
#: The sets of rules ``strictness`` can judge (module docstring), strictest last.
Tier = Literal["must", "framing", "should"]
TIERS: tuple[Tier, ...] = ("must", "framing", "should")
Check = Literal["reject", "close", "desync"]


@dataclass(frozen=True)
class Rule:
    """One requirement of RFC 9112/9110 on servers receiving requests.

    Attributes:
        id: a short stable name (``--skip-rule`` takes it).
        section: where the RFC says it, e.g. ``RFC 9112 section 5.1``.
        says: the requirement, in one line.
        level: ``must``, ``should`` or ``may`` (see the module docstring).
        check: how a violation shows (see the module docstring).
        smuggling: for a SHOULD rule, the published request-smuggling
            vulnerabilities that leniency on it caused (empty: none known).
    """

    id: str
    section: str
    says: str
    level: Level = "must"
    check: Check = "reject"
    smuggling: str = ""

    @property
    def must_reject(self) -> bool:
        """Whether the RFC says a server MUST refuse such a request (or close after it)."""
        return self.level == "must"

    @property
    def framing(self) -> bool:
        """Whether the ``framing`` tier judges it: a MUST, or a SHOULD that smuggling came from."""
        return self.level == "must" or (self.level == "should" and bool(self.smuggling))

    def describe(self) -> str:
        """What the rule asks and how strongly, for failure messages.

        ``section (MUST): says`` for a MUST rule; a SHOULD rule with smuggling
        evidence says plainly that it is a SHOULD, and why it is judged anyway.
        """
        if self.level == "should" and self.smuggling:
            return (
                f"{self.section}: {self.says}. SHOULD reject (RFC 9112 section 2.2); "
                f"leniency here is a request-smuggling primitive ({self.smuggling})"
            )
        return f"{self.section} ({self.level.upper()}): {self.says}"


_RULES = (
    Rule(
        "field-name-whitespace",
        "RFC 9112 section 5.1",
        "a request with whitespace between a field name and the colon MUST get a 400",
    ),
    Rule(
        "host-required",
        "RFC 9112 section 3.2",
        "an HTTP/1.1 request without a Host field MUST get a 400",
    ),
    Rule(
        "host-single",
        "RFC 9112 section 3.2",
        "a request with more than one Host field line MUST get a 400",
    ),
    Rule(
        "host-valid",
        "RFC 9112 section 3.2",
        "a request whose Host is not uri-host [':' port] (RFC 3986) MUST get a 400",
    ),
    Rule(
        "content-length-valid",
        "RFC 9112 section 6.3",
        "a Content-Length that is not 1*DIGIT, or a list of different values, is an "
        "unrecoverable framing error: the server MUST answer 400 and close",
    ),
    Rule(
        "chunked-last",
        "RFC 9112 section 6.3",
        "a Transfer-Encoding whose final coding is not chunked MUST get a 400 and a close",
    ),
    Rule(
        "chunk-size-overflow",
        "RFC 9112 section 7.1",
        "recipients MUST prevent integer overflow in chunk sizes: a size of 2^64 + n is not n",
        check="desync",
    ),
    Rule(
        "close-after-te-and-cl",
        "RFC 9112 section 6.1",
        "after answering a request with both Transfer-Encoding and Content-Length the "
        "server MUST close the connection",
        check="close",
    ),
    Rule(
        "close-after-http10-te",
        "RFC 9112 section 6.1",
        "an HTTP/1.0 request with Transfer-Encoding has faulty framing: the server MUST "
        "close the connection after it",
        check="close",
    ),
    Rule(
        "obs-fold",
        "RFC 9112 section 5.2",
        "an obs-fold MUST be rejected with 400 or replaced by SP; here either way the "
        "Content-Length or Host is invalid (sections 6.3, 3.2), so the answer MUST be a 400",
    ),
    Rule(
        "bare-cr",
        "RFC 9112 section 2.2",
        "a bare CR MUST make its element invalid or be replaced by SP; here either way the "
        "field is invalid (sections 6.3, 5.1), so the answer MUST be a 400",
    ),
    Rule(
        "nul-in-field",
        "RFC 9110 section 5.5",
        "a NUL in a field value MUST make the request rejected or be replaced by SP; here "
        "either way the Content-Length or Host is invalid, so the answer MUST be a 400",
    ),
    Rule(
        "whitespace-before-first-field",
        "RFC 9112 section 2.2",
        "a line starting with whitespace after the request line MUST be rejected or ignored; "
        "here it is the only Host line, so either way the answer MUST be a 400 (section 3.2)",
    ),
    Rule(
        "chunk-data-crlf",
        "RFC 9112 section 7.1",
        "chunk data is followed by CRLF; a request that breaks the grammar SHOULD get a 400 "
        "and a close (section 2.2)",
        level="should",
        smuggling="CVE-2025-43859, h11 < 0.16 took any two bytes after chunk data",
    ),
    Rule(
        "chunk-size-hex",
        "RFC 9112 section 7.1",
        "chunk-size is 1*HEXDIG: no sign, no 0x, no other letters; a request that breaks the "
        "grammar SHOULD get a 400 and a close (section 2.2)",
        level="should",
        smuggling="CVE-2022-24761, waitress < 2.1.1 read '+1' and '0x1' as 1",
    ),
    Rule(
        "chunk-line-crlf",
        "RFC 9112 section 7.1",
        "chunk lines end in CRLF (the bare-LF leniency of section 2.2 is for the start-line "
        "and fields only); a request that breaks the grammar SHOULD get a 400",
        level="should",
        smuggling="CVE-2025-22871, Go net/http < 1.23.8 and 1.24.2 ended chunk-size lines at LF",
    ),
    Rule(
        "chunk-size-whitespace",
        "RFC 9112 section 7.1",
        "chunk-size is 1*HEXDIG, and whitespace may only come before a ';' chunk-ext (BWS); "
        "a request that breaks the grammar SHOULD get a 400 (section 2.2)",
        level="should",
    ),
    Rule(
        "method-token",
        "RFC 9112 section 3.1",
        "the method is a token; an invalid request-line SHOULD get a 400 (section 3.2)",
        level="should",
    ),
    Rule(
        "http-version",
        "RFC 9112 section 2.3",
        "HTTP-version is 'HTTP/' DIGIT '.' DIGIT, case-sensitive; an invalid request-line "
        "SHOULD get a 400",
        level="should",
    ),
    Rule(
        "request-line",
        "RFC 9112 section 3",
        "request-line = method SP request-target SP HTTP-version; otherwise it SHOULD get a 400",
        level="should",
    ),
    Rule(
        "field-line",
        "RFC 9112 section 5.1",
        "field-line = field-name ':' OWS field-value OWS; a line without a colon SHOULD get "
        "a 400 (section 2.2)",
        level="should",
    ),
    Rule(
        "field-value-ctl",
        "RFC 9110 section 5.5",
        "control characters in a field value are invalid, but a recipient MAY retain them",
        level="may",
    ),
    Rule(
        "line-length",
        "RFC 9112 section 3",
        "a server MAY refuse long request lines and fields (414, 431) or accept them",
        level="may",
    ),
    Rule(
        "incomplete-message",
        "RFC 9112 section 8",
        "a request cut short: the server MAY answer with an error before it closes",
        level="may",
    ),
)

#: Every rule by id, MUST rules first.
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def get_rule(rule_id: str) -> Rule:
    """The rule called ``rule_id``.

    Raises:
        UsageError: no such rule; the message lists the valid ids.

    Example::

        >>> get_rule("host-required").section
        'RFC 9112 section 3.2'
    """
    try:
        return RULES[rule_id]
    except KeyError:
        raise UsageError(f"unknown HTTP rule {rule_id!r}; valid: {', '.join(RULES)}") from None


def rules_at(tier: str) -> tuple[Rule, ...]:
    """The rules a server is held to at ``tier``: ``must``, ``framing`` or ``should``.

    Raises:
        UsageError: ``tier`` is none of them.

    Example::

        >>> all(rule.must_reject for rule in rules_at("must"))
        True
        >>> "chunk-data-crlf" in {rule.id for rule in rules_at("framing")}
        True
    """
    if tier == "must":
        return tuple(r for r in _RULES if r.level == "must")
    if tier == "framing":
        return tuple(r for r in _RULES if r.framing)
    if tier == "should":
        return tuple(r for r in _RULES if r.level in ("must", "should"))
    raise UsageError(f"rule level must be one of {', '.join(TIERS)}, got {tier!r}")
