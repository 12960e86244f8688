"""JSON encoding of bytes for replay files: readable where possible, exact always.

Printable ASCII (plus ``\\r``, ``\\n``, ``\\t``) is stored as a JSON string;
anything else as ``{"b64": "..."}``. Nothing is ever evaluated or unpickled.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from wirefault.errors import ReplayError

__all__ = ["bytes_from_json", "bytes_to_json"]

_PLAIN = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def bytes_to_json(data: bytes) -> str | dict[str, str]:
    """Encode ``data`` as a JSON string when printable, else as ``{"b64": ...}``."""
    if all(b in _PLAIN for b in data):
        return data.decode("ascii")
    return {"b64": base64.b64encode(data).decode("ascii")}


def bytes_from_json(value: Any, *, where: str = "value") -> bytes:
    """Decode what :func:`bytes_to_json` produced.

    Raises:
        ReplayError: ``value`` is neither form, or not valid base64.
    """
    if isinstance(value, str):
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            raise ReplayError(f"{where}: text must be ASCII, else use {{'b64': ...}}") from None
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise ReplayError(f"{where}: invalid base64 in {value['b64'][:40]!r}") from None
    raise ReplayError(f"{where}: expected a string or {{'b64': ...}}, got {value!r:.60}")
