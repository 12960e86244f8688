"""Sans-I/O codecs: how each protocol cuts bytes into frames, with no networking code at all.

Every codec implements the contract in :mod:`wirefault.codecs.base` and is a
small frozen dataclass whose fields are its options. Build one by name::

    >>> get_codec("lenprefix", header_bytes=2).encode(b"hi")
    b'\\x00\\x02hi'

========== ========= ======================================== ===========================
name       transport frame                                    options
========== ========= ======================================== ===========================
raw        stream    whatever arrived (unframed)              max_frame
line       stream    a line without ``\\n`` / ``\\r\\n``          max_line
lenprefix  stream    the body after a length header           header_bytes, byteorder,
                                                              max_frame
lenfield   stream    a whole frame whose header holds its     length_offset, length_bytes,
                     length (Modbus/TCP, MQTT, PostgreSQL...) byteorder, length_adjust,
                                                              max_frame
http       stream    canonical HTTP/1.1 message (via h11)     max_frame, volatile_headers
resp       stream    the bytes of one RESP2 value             max_frame
datagram   datagram  one datagram                             max_frame
========== ========= ======================================== ===========================

Any other codec is a :class:`Codec` subclass of your own, named by reference
(``package.module:Name``) or registered by an installed package under the
entry-point group ``wirefault.codecs`` (see :mod:`wirefault.codecs.registry`).
"""

from __future__ import annotations

from wirefault.codecs.base import Codec, Decoder, OptionValue
from wirefault.codecs.datagram import DatagramCodec
from wirefault.codecs.http import HttpCodec
from wirefault.codecs.lenfield import LenFieldCodec
from wirefault.codecs.lenprefix import LenPrefixCodec
from wirefault.codecs.line import LineCodec
from wirefault.codecs.raw import RawCodec
from wirefault.codecs.registry import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    codec_class,
    codec_reference,
    plugin_codecs,
)
from wirefault.codecs.resp import RespCodec
from wirefault.errors import UsageError

__all__ = [
    "CODECS",
    "ENTRY_POINT_GROUP",
    "Codec",
    "DatagramCodec",
    "Decoder",
    "HttpCodec",
    "LenFieldCodec",
    "LenPrefixCodec",
    "LineCodec",
    "RawCodec",
    "RespCodec",
    "codec_class",
    "codec_names",
    "codec_reference",
    "get_codec",
    "plugin_codecs",
]

#: Every built-in codec by its registry name (user codecs: :func:`codec_class`).
CODECS: dict[str, type[Codec]] = BUILTIN


def codec_names() -> tuple[str, ...]:
    """The built-in codec names, in registry order."""
    return tuple(CODECS)


def get_codec(name: str, **options: OptionValue) -> Codec:
    """Build the codec registered as ``name`` with ``options``.

    Args:
        name: a built-in name (see :func:`codec_names`), an entry-point name, or a
            ``package.module:Name`` reference (see :func:`codec_class`).
        **options: the codec's options, e.g. ``header_bytes=2`` for ``lenprefix``.

    Raises:
        UsageError: an unknown codec or option, an option of the wrong type,
            or a value out of range; the message lists what is valid.
    """
    cls = codec_class(name)
    # Every option has a default, whose type is the option's type (unless the class
    # says otherwise in option_types).
    defaults = _defaults(cls, name)
    for key, value in options.items():
        if key not in defaults:
            valid = ", ".join(defaults) or "none"
            raise UsageError(f"codec {name!r} has no option {key!r}; its options are: {valid}")
        kinds = cls.option_types.get(key, (type(defaults[key]),))
        # bool is an int subclass, but True is not a frame size.
        if not isinstance(value, kinds) or isinstance(value, bool) != (bool in kinds):
            expected = " or ".join(k.__name__ for k in kinds)
            raise UsageError(
                f"codec {name!r} option {key} must be {expected}, "
                f"got {value!r} ({type(value).__name__})"
            )
    try:
        return cls(**options)
    except UsageError:
        raise
    except Exception as exc:
        # A user codec's own validation: still one line, never a traceback.
        raise UsageError(
            f"codec {name!r} rejects its options: {type(exc).__name__}: {exc}"
        ) from None


def _defaults(cls: type[Codec], name: str) -> dict[str, OptionValue]:
    """The options of ``cls`` built with no arguments (which every codec must allow)."""
    try:
        return dict(cls().options())
    except Exception as exc:
        raise UsageError(
            f"codec {name!r} cannot be built with its default options "
            f"({type(exc).__name__}: {exc}); every option needs a default (docs/CODECS.md)"
        ) from None
