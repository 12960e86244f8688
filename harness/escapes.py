"""The escape syntax of ``--probe``, ``--preamble`` and request files: text in, bytes out.

``PING\\r\\n`` is the six bytes ``PING`` CR LF: Python's bytes-literal escapes
(``\\r``, ``\\n``, ``\\t``, ``\\\\``, ``\\xNN``, octal) are decoded, nothing is
evaluated. :func:`format_escaped` writes bytes back in the same syntax, so a
recorded request (``wirefault proxy --record``) reads back as the same bytes.
"""

from __future__ import annotations

import codecs as _text_codecs
import warnings

from wirefault.errors import UsageError

__all__ = ["format_escaped", "parse_escaped"]

_NAMED = {0x5C: "\\\\", 0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"}


def parse_escaped(text: str) -> bytes:
    """Turn ``PING\\r\\n``-style text with backslash escapes into bytes (no evaluation).

    Raises:
        UsageError: a malformed escape.
    """
    with warnings.catch_warnings():
        # An unknown escape (``\q``) is only warned about and kept as it is: refuse it,
        # since the user meant some byte and we cannot know which.
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return _text_codecs.escape_decode(text.encode("utf-8"))[0]
        except (ValueError, DeprecationWarning) as exc:
            raise UsageError(
                f"bad escape in {text!r}: {exc}; use \\r \\n \\t \\\\ or \\xNN"
            ) from None


def format_escaped(data: bytes) -> str:
    """``data`` as one line of escaped text that :func:`parse_escaped` reads back exactly.

    Printable ASCII stays as it is; other bytes become ``\\r``, ``\\n``, ``\\t``,
    ``\\\\`` or ``\\xNN``. A leading ``#`` and spaces at either end are escaped
    too, so the line is never taken for a comment or trimmed by an editor.
    """
    text = "".join(_NAMED.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in data)
    if text.startswith(("#", " ")):
        text = f"\\x{ord(text[0]):02x}" + text[1:]
    if text.endswith(" "):
        text = text[:-1] + "\\x20"
    return text
