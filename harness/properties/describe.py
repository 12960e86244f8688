"""Malformed frames in words, e.g. ``an 8,200-byte line without a newline (longer than ...)``.

The ``malformed`` property's messages name the kind of malformation and its
size, so a user sees what was sent without decoding a replay file. Kinds are
those of :mod:`wirefault.strategies.malformed` (a scenario's ``malformed`` meta);
each codec's kinds have a phrase here, keyed by ``(codec, kind)`` or by kind
alone, and any other kind gets a generic one. Adding a kind: add its phrase.
"""

from __future__ import annotations

from collections.abc import Callable

from wirefault.codecs.base import Codec
from wirefault.properties.render import sized

__all__ = ["describe_malformed"]

Phrase = Callable[[bytes, Codec], str]


def _option(codec: Codec, name: str) -> int:
    value = codec.options().get(name, codec.max_frame)
    return value if isinstance(value, int) and not isinstance(value, bool) else codec.max_frame


def _declared(data: bytes, codec: Codec) -> int:
    width = _option(codec, "header_bytes")
    little = codec.options().get("byteorder") == "little"
    return int.from_bytes(data[:width], "little" if little else "big")


def _over_long_line(data: bytes, codec: Codec) -> str:
    return (
        f"{sized(len(data), 'line')} without a newline "
        f"(longer than --max-line {_option(codec, 'max_line')})"
    )


def _truncated_header(data: bytes, codec: Codec) -> str:
    width = _option(codec, "header_bytes")
    return f"{len(data)} byte(s) of a {width}-byte length header"


def _truncated_body(data: bytes, codec: Codec) -> str:
    width = _option(codec, "header_bytes")
    return (
        f"a length header declaring {_declared(data, codec):,} bytes "
        f"followed by only {len(data) - width:,}"
    )


def _beyond_max(data: bytes, codec: Codec) -> str:
    width = _option(codec, "header_bytes")
    return (
        f"a {width}-byte length header declaring {_declared(data, codec):,} bytes "
        f"(more than --max-frame {codec.max_frame}), with {len(data) - width:,} body bytes"
    )


def _request(words: str) -> Phrase:
    return lambda data, codec: f"{sized(len(data), 'request')} {words}"


def _line(words: str) -> Phrase:
    return lambda data, codec: f"{sized(len(data), 'line')} {words}"


#: Phrases by (codec name, kind), then by kind alone.
_PHRASES: dict[tuple[str, str] | str, Phrase] = {
    ("line", "over-long-line"): _over_long_line,
    ("line", "missing-delimiter"): _line("without its newline"),
    ("line", "invalid-utf8"): _line("with invalid UTF-8"),
    ("line", "nul-bytes"): _line("with NUL bytes in it"),
    ("lenprefix", "truncated-header"): _truncated_header,
    ("lenprefix", "truncated-body"): _truncated_body,
    ("lenprefix", "length-beyond-max"): _beyond_max,
    ("http", "conflicting-content-length"): _request("with two different Content-Length headers"),
    ("http", "content-length-and-chunked"): _request(
        "with both Content-Length and Transfer-Encoding: chunked"
    ),
    ("http", "bad-chunk-size"): _request("with a chunk size that is not hexadecimal"),
    ("http", "garbage-request-line"): _request("whose request line is not HTTP"),
    ("http", "header-without-colon"): _request("with a header line without a colon"),
    ("http", "truncated-body"): _request("whose body is shorter than its Content-Length"),
    ("http", "over-long-header-line"): _request("with a header line longer than 16 KiB"),
    ("resp", "bad-type-byte"): _request("whose array element has an invalid type byte"),
    ("resp", "bad-bulk-length"): _request("whose bulk length is not a number >= 0"),
    ("resp", "truncated-bulk"): _request("whose bulk string is shorter than its length"),
    "garbage": lambda data, codec: f"{len(data):,} byte(s) of random garbage",
}


def describe_malformed(kind: str, data: bytes, codec: Codec) -> str:
    """``kind`` of malformed frame, ``data`` its bytes, in words with its size.

    Example::

        >>> from wirefault.codecs import get_codec
        >>> describe_malformed("over-long-line", b"a" * 8200, get_codec("line"))
        'an 8,200-byte line without a newline (longer than --max-line 8192)'
        >>> describe_malformed("", b"abc", get_codec("raw"))
        'a 3-byte malformed frame'
    """
    phrase = _PHRASES.get((codec.name, kind)) or _PHRASES.get(kind)
    if phrase is not None:
        return phrase(data, codec)
    what = f" ({kind})" if kind else ""
    return f"{sized(len(data), 'malformed frame')}{what}"
