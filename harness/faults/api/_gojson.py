"""JSON in and out as Toxiproxy's Go server reads and writes it.

Toxiproxy decodes request bodies with Go's ``encoding/json`` into typed
structs, and its error bodies quote Go's messages ("json: cannot unmarshal
string into Go struct field LatencyToxic.attributes.latency of type int64").
A drop-in server has to accept and refuse the same bodies with the same
words, so this module reproduces the parts of that decoder Toxiproxy's API
meets: the first JSON value of the body (what follows it is ignored), keys
matched to fields case-insensitively, ``null`` leaving a field as it was,
integers that must be written as integers, float32 toxicity, and the first
type error reported after the whole value was read. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "GoDecodeError",
    "GoFloat32",
    "GoNumber",
    "GoObject",
    "decode_fields",
    "encode",
    "float32",
    "format_float32",
    "kind_of",
    "parse_body",
]

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_INT64 = (-(1 << 63), (1 << 63) - 1)
_FLOAT32_MAX = 3.4028234663852886e38


class GoDecodeError(Exception):
    """A body Go's decoder refuses; ``str()`` is Go's message (without "bad request body: ")."""


@dataclass(frozen=True)
class GoNumber:
    """A JSON number as written (Go quotes the literal in some messages)."""

    text: str


@dataclass(frozen=True)
class GoObject:
    """A JSON object as its ``(key, value)`` pairs, in document order (duplicates kept)."""

    pairs: tuple[tuple[str, object], ...]


def _refuse_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; JSON (and Go) do not.
    raise ValueError(name)


_DECODER = json.JSONDecoder(
    object_pairs_hook=lambda pairs: GoObject(tuple(pairs)),
    parse_float=GoNumber,
    parse_int=GoNumber,
    parse_constant=_refuse_constant,
)

#: Python's syntax error messages, in Go's words for what was expected.
_CONTEXTS = {
    "Expecting value": "looking for beginning of value",
    "Expecting ':' delimiter": "after object key",
    "Expecting ',' delimiter": "after object key:value pair",
    "Expecting property name": "looking for beginning of object key string",
    "Invalid control character at": "in string literal",
}


def parse_body(raw: bytes) -> object:
    """The first JSON value of ``raw`` (numbers as :class:`GoNumber`, objects as :class:`GoObject`).

    Raises:
        GoDecodeError: ``EOF`` for an empty body, ``unexpected EOF`` for a cut
            one, ``invalid character ...`` for a malformed one.
    """
    text = raw.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise GoDecodeError("EOF")
    try:
        value, _end = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip(" \t\r\n")):
            raise GoDecodeError("unexpected EOF") from None
        context = next(
            (go for py, go in _CONTEXTS.items() if exc.msg.startswith(py)),
            "looking for beginning of value",
        )
        raise GoDecodeError(f"invalid character {_quote(text[exc.pos])} {context}") from None
    except ValueError:  # NaN, Infinity
        raise GoDecodeError(
            "invalid character 'N' looking for beginning of value"
            if text.lstrip("-")[:1] == "N"
            else "invalid character 'I' looking for beginning of value"
        ) from None
    return value


def _quote(char: str) -> str:
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char)[1:-1] + "'"


def kind_of(value: object) -> str:
    """Go's name for the kind of a JSON value in "cannot unmarshal KIND into ..."."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoNumber):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoObject):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


def float32(value: float) -> float:
    """``value`` rounded to the nearest float32, as Go stores a ``float32`` field."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def format_float32(value: float) -> str:
    """A float32 as Go's ``encoding/json`` writes it: the shortest exact form (``0.12345679``)."""
    stored = float32(value)
    if stored == 0:
        return "0"
    for digits in range(1, 10):
        text = f"{stored:.{digits}g}"
        if float32(float(text)) == stored:
            break
    if 1e-6 <= abs(stored) < 1e21:
        return format(Decimal(text), "f")
    mantissa, _, exponent = f"{Decimal(text):e}".partition("e")
    sign, magnitude = exponent[0], exponent[1:].lstrip("0") or "0"
    return f"{mantissa}e{sign}{magnitude}"


def _convert(value: object, go_type: str) -> tuple[bool, object]:
    """``(True, converted)``, or ``(False, what Go calls the value)`` when it does not fit."""
    if go_type == "string":
        return (True, value) if isinstance(value, str) else (False, kind_of(value))
    if go_type == "bool":
        return (True, value) if isinstance(value, bool) else (False, kind_of(value))
    if not isinstance(value, GoNumber):
        return False, kind_of(value)
    if go_type in ("int64", "int"):
        if _INTEGER.fullmatch(value.text) and _INT64[0] <= int(value.text) <= _INT64[1]:
            return True, int(value.text)
        return False, f"number {value.text}"
    number = float(value.text)  # float32
    if abs(number) > _FLOAT32_MAX:
        return False, f"number {value.text}"
    return True, float32(number)


def decode_fields(
    value: object,
    fields: Mapping[str, str],
    *,
    struct_name: str,
    path: str = "",
    value_type: str = "",
) -> tuple[dict[str, object], str | None]:
    """Decode a JSON object into the named fields, as Go decodes it into a struct.

    Args:
        value: the decoded JSON value (a :class:`GoObject`, or ``None``).
        fields: field name -> Go type (``string``, ``bool``, ``int64``, ``int``,
            ``float32``, or ``raw`` for a value taken as it is).
        struct_name: the Go struct's name, as messages quote it (``Proxy``).
        path: the dotted path of this struct in the body, for messages.
        value_type: Go's name for the struct's type when ``value`` is not an object.

    Returns:
        The fields present and not null, by field name; and Go's first type
        error (None if none): decoding goes on past a type error, as Go's does.
    """
    if value is None:
        return {}, None
    if not isinstance(value, GoObject):
        return {}, f"json: cannot unmarshal {kind_of(value)} into Go value of type {value_type}"
    found: dict[str, object] = {}
    error: str | None = None
    lowered = {name.lower(): name for name in fields}
    for key, item in value.pairs:
        name = key if key in fields else lowered.get(key.lower())
        if name is None or item is None:
            continue
        go_type = fields[name]
        if go_type == "raw":
            found[name] = item
            continue
        ok, converted = _convert(item, go_type)
        if ok:
            found[name] = converted
        elif error is None:
            where = f"{path}.{name}" if path else name
            error = (
                f"json: cannot unmarshal {converted} into Go struct field "
                f"{struct_name}.{where} of type {go_type}"
            )
    return found, error


class GoFloat32(float):
    """A float32 value: :func:`encode` writes it as Go does (``0.12345679``)."""


def encode(value: object) -> str:
    """Compact JSON as Go's ``encoding/json`` writes it.

    Keys in the order given, non-ASCII as is, ``<``, ``>`` and ``&`` escaped,
    :class:`GoFloat32` in float32's shortest form.
    """
    return "".join(_encode(value))


def _encode(value: object) -> list[str]:
    if isinstance(value, GoFloat32):
        return [format_float32(value)]
    if isinstance(value, dict):
        parts = ["{"]
        for i, (key, item) in enumerate(value.items()):
            parts += ["," if i else "", _string(str(key)), ":", *_encode(item)]
        return [*parts, "}"]
    if isinstance(value, list | tuple):
        parts = ["["]
        for i, item in enumerate(value):
            parts += ["," if i else "", *_encode(item)]
        return [*parts, "]"]
    if isinstance(value, str):
        return [_string(value)]
    return [json.dumps(value)]


def _string(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    for char, escape in _GO_ESCAPES:
        quoted = quoted.replace(char, escape)
    return quoted


#: What Go's encoder escapes that Python's leaves alone (HTML-safe, line separators).
_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
