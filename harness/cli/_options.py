"""Options shared by several subcommands: codec options, backend, deadline."""

from __future__ import annotations

import argparse
import codecs as _text_codecs

from wirefault.codecs.base import OptionValue
from wirefault.errors import UsageError

__all__ = ["BACKENDS", "add_codec_options", "codec_options", "parse_escaped", "positive_float"]

BACKENDS = ("auto", "embedded", "toxiproxy", "none")

# (flag, codec option name, type, the codecs that take it)
_CODEC_FLAGS: tuple[tuple[str, str, type, tuple[str, ...]], ...] = (
    ("--max-frame", "max_frame", int, ("raw", "lenprefix", "http", "resp", "datagram")),
    ("--header-bytes", "header_bytes", int, ("lenprefix",)),
    ("--byteorder", "byteorder", str, ("lenprefix",)),
    ("--max-line", "max_line", int, ("line",)),
)


def positive_float(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def add_codec_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-frame``, ``--header-bytes``, ``--byteorder``, ``--max-line``."""
    group = parser.add_argument_group("codec options")
    for flag, dest, kind, names in _CODEC_FLAGS:
        group.add_argument(
            flag,
            dest=f"codec_{dest}",
            type=kind,
            default=None,
            choices=("big", "little") if dest == "byteorder" else None,
            help=f"{dest.replace('_', ' ')} (codecs: {', '.join(names)})",
        )


def codec_options(args: argparse.Namespace, codec: str) -> dict[str, OptionValue]:
    """The codec options given on the command line for ``codec``.

    Raises:
        UsageError: an option was given that ``codec`` does not take.
    """
    options: dict[str, OptionValue] = {}
    for flag, dest, _kind, names in _CODEC_FLAGS:
        value = getattr(args, f"codec_{dest}", None)
        if value is None:
            continue
        if codec not in names:
            raise UsageError(
                f"{flag} does not apply to the {codec} codec (only to {', '.join(names)})"
            )
        options[dest] = value
    return options


def parse_escaped(text: str) -> bytes:
    """Turn ``PING\\r\\n``-style text with backslash escapes into bytes (no evaluation).

    Raises:
        UsageError: a malformed escape.
    """
    try:
        return _text_codecs.escape_decode(text.encode("utf-8"))[0]
    except ValueError as exc:
        raise UsageError(f"bad escape in {text!r}: {exc}") from None
