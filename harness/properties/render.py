"""Words for verdict messages: bytes shown whole up to a limit, sizes, how a read ended.

A message must carry the key facts by itself: ``wirefault show`` and the replay
file keep bytes as base64, so whatever a user needs to see the difference (the
first differing response, the malformed bytes) is written out here, cut only
past :data:`SHOW_LIMIT` bytes and then with both ends kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from wirefault.properties.kinds import FailureKind

__all__ = [
    "SHOW_LIMIT",
    "count",
    "ended",
    "first_difference",
    "outcome_kind",
    "show",
    "sized",
]

#: Bytes shown whole in a message; longer data keeps its first and last parts.
SHOW_LIMIT = 200

#: How a read ended, by outcome group (see :func:`~wirefault.properties.base.outcome_group`).
_ENDINGS = {
    "ok": "closed normally",
    "closed": "then the server closed the connection",
    "timeout": "then nothing until the deadline",
    "garbage": "then bytes that are not a frame",
    "refused": "the connection was refused",
    "eof": "then the server closed the connection",
    "rst": "then the server reset the connection",
}

#: The failure kind of a read that stopped short, by its outcome.
_KINDS: dict[str, FailureKind] = {
    "timeout": "timeout",
    "closed": "closed",
    "eof": "closed",
    "rst": "reset",
    "refused": "refused",
    "garbage": "garbage",
}


def show(data: bytes, limit: int = SHOW_LIMIT) -> str:
    """``repr`` of ``data``; beyond ``limit`` bytes, its two ends and the full size.

    Example::

        >>> show(b"abc")
        "b'abc'"
        >>> show(b"x" * 300, limit=10)
        "b'xxxxx' ... b'xxxxx' (300 bytes)"
    """
    if len(data) <= limit:
        return repr(data)
    half = max(limit // 2, 1)
    return f"{data[:half]!r} ... {data[-half:]!r} ({len(data):,} bytes)"


def sized(n: int, noun: str) -> str:
    """``"an 8,200-byte line"``: a size as an adjective, with the right article.

    Example::

        >>> sized(8200, "line")
        'an 8,200-byte line'
        >>> sized(5, "request")
        'a 5-byte request'
    """
    digits = str(n)
    lead = digits[: len(digits) % 3 or 3]
    # English reads the leading group aloud: "eight...", "eleven...", "eighteen..." take "an".
    article = "an" if lead.startswith("8") or lead in ("11", "18") else "a"
    return f"{article} {n:,}-byte {noun}"


def count(n: int, noun: str = "response") -> str:
    """``"1 response"``, ``"3 responses"``, ``"2 replies"``."""
    if n == 1:
        return f"{n:,} {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{n:,} {plural}"


def ended(outcome: str) -> str:
    """How a read ended, in words: ``ok`` is ``closed normally``, ``timeout`` ``then nothing…``."""
    return _ENDINGS.get(outcome, outcome)


def outcome_kind(outcome: str) -> FailureKind:
    """The failure kind of a read that ended with ``outcome`` (``other`` for ``ok``)."""
    return _KINDS.get(outcome, "other")


def first_difference(a: Sequence[bytes], b: Sequence[bytes]) -> int | None:
    """The index of the first response that differs (one list may be shorter); None if equal."""
    for i in range(max(len(a), len(b))):
        if i >= len(a) or i >= len(b) or a[i] != b[i]:
            return i
    return None
