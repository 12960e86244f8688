"""Options shared by several subcommands: codec options, backend, deadline."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from wirefault.codecs.base import OptionValue
from wirefault.errors import UsageError
from wirefault.escapes import parse_escaped

__all__ = ["BACKENDS", "add_codec_options", "codec_options", "parse_escaped", "positive_float"]

BACKENDS = ("auto", "embedded", "toxiproxy", "none")


def _length_bytes(text: str) -> int | str:
    """argparse type of ``--length-bytes``: 1, 2, 3, 4, 8 or ``varint``."""
    if text == "varint":
        return text
    if text in ("1", "2", "3", "4", "8"):
        return int(text)
    raise argparse.ArgumentTypeError(f"expected 1, 2, 3, 4, 8 or varint, got {text!r}")


def _whole(text: str) -> int:
    """argparse type: a whole number, negative allowed (``--length-adjust -4``)."""
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# (flag, codec option name, argparse type, metavar). A flag applies to every codec
# that has the option, user codecs included.
_CODEC_FLAGS: tuple[tuple[str, str, Callable[[str], OptionValue], str], ...] = (
    ("--max-frame", "max_frame", int, "N"),
    ("--header-bytes", "header_bytes", int, "N"),
    ("--byteorder", "byteorder", str, "big|little"),
    ("--max-line", "max_line", int, "N"),
    ("--length-offset", "length_offset", _whole, "N"),
    ("--length-bytes", "length_bytes", _length_bytes, "1|2|3|4|8|varint"),
    ("--length-adjust", "length_adjust", _whole, "N"),
)


def _codecs_with(option: str) -> list[str]:
    from wirefault.codecs import CODECS

    return [name for name, cls in CODECS.items() if option in cls().options()]


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
    """Add ``--max-frame``, ``--header-bytes``, ``--byteorder``, ``--max-line`` and lenfield's."""
    group = parser.add_argument_group("codec options (each applies to the codecs that have it)")
    for flag, dest, kind, metavar in _CODEC_FLAGS:
        group.add_argument(
            flag,
            dest=f"codec_{dest}",
            type=kind,
            default=None,
            metavar=metavar,
            choices=("big", "little") if dest == "byteorder" else None,
            help=f"{dest.replace('_', ' ')} (codecs: {', '.join(_codecs_with(dest))})",
        )


def codec_options(args: argparse.Namespace, codec: str) -> dict[str, OptionValue]:
    """The codec options given on the command line for ``codec``.

    Raises:
        UsageError: an unknown codec, or an option was given that ``codec`` does not take.
    """
    from wirefault.codecs import get_codec

    given = {
        (flag, dest): value
        for flag, dest, _kind, _metavar in _CODEC_FLAGS
        if (value := getattr(args, f"codec_{dest}", None)) is not None
    }
    if not given:
        return {}
    takes = get_codec(codec).options()
    options: dict[str, OptionValue] = {}
    for (flag, dest), value in given.items():
        if dest not in takes:
            names = _codecs_with(dest)
            raise UsageError(
                f"{flag} does not apply to the {codec} codec (only to {', '.join(names)})"
            )
        options[dest] = value
    return options
