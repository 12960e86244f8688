"""Failure kinds: how a failure shows itself (a timeout, a close, a mismatch...).

Shrinking keeps a failure's kind: a smaller scenario that fails another way is a
different failure, not a smaller example of the same one. Replay files and the
``--json`` summary record each failure's kind.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["FAILURE_KINDS", "FailureKind"]

#: How a failure shows itself. Shrinking keeps it: a smaller scenario that fails
#: another way is a different failure, not a smaller one of the same.
FailureKind = Literal[
    "timeout",
    "closed",
    "reset",
    "refused",
    "mismatch",
    "garbage",
    "crash",
    "short-write",
    "lenient",
    "slow",
    "leak",
    "other",
]

#: Every failure kind, with what it means (docs/PROPERTIES.md repeats this table).
FAILURE_KINDS: dict[str, str] = {
    "timeout": "the server neither answered nor closed within the deadline, or accepted no one",
    "closed": "the server closed the connection (FIN) before answering",
    "reset": "the server reset the connection (RST) before answering",
    "refused": "the connection was refused: nothing was listening",
    "mismatch": "the server answered, but differently from the other play",
    "garbage": "the server sent bytes that are not a frame of the codec",
    "crash": "the managed server process died",
    "short-write": "the server stopped in the middle of a response frame",
    "lenient": "the server accepted a request the RFC says it must refuse (strictness)",
    "slow": "the server's time grew clearly faster than the request's size (growth)",
    "leak": "the server kept open the socket of a connection the client reset (reset)",
    "other": "any other failure (a property that does not say)",
}
