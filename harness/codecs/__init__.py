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
http       stream    canonical HTTP/1.1 message (via h11)     max_frame, volatile_headers
resp       stream    the bytes of one RESP2 value             max_frame
datagram   datagram  one datagram                             max_frame
========== ========= ======================================== ===========================
"""

from __future__ import annotations

from wirefault.codecs.base import Codec, Decoder, OptionValue
from wirefault.codecs.datagram import DatagramCodec
from wirefault.codecs.http import HttpCodec
from wirefault.codecs.lenprefix import LenPrefixCodec
from wirefault.codecs.line import LineCodec
from wirefault.codecs.raw import RawCodec
from wirefault.codecs.resp import RespCodec
from wirefault.errors import UsageError

__all__ = [
    "CODECS",
    "Codec",
    "DatagramCodec",
    "Decoder",
    "HttpCodec",
    "LenPrefixCodec",
    "LineCodec",
    "RawCodec",
    "RespCodec",
    "codec_names",
    "get_codec",
]

#: Every codec by its registry name (the ``--codec`` choices).
CODECS: dict[str, type[Codec]] = {
    cls.name: cls
    for cls in (RawCodec, LineCodec, LenPrefixCodec, HttpCodec, RespCodec, DatagramCodec)
}


def codec_names() -> tuple[str, ...]:
    """The registered codec names, in registry order."""
    return tuple(CODECS)


def get_codec(name: str, **options: OptionValue) -> Codec:
    """Build the codec registered as ``name`` with ``options``.

    Args:
        name: a registry name (see :func:`codec_names`).
        **options: the codec's options, e.g. ``header_bytes=2`` for ``lenprefix``.

    Raises:
        UsageError: an unknown codec or option, an option of the wrong type,
            or a value out of range; the message lists what is valid.
    """
    cls = CODECS.get(name)
    if cls is None:
        raise UsageError(f"unknown codec {name!r}; choose one of: {', '.join(CODECS)}")
    # Every option has a default, whose type is the option's type.
    defaults = cls().options()
    for key, value in options.items():
        if key not in defaults:
            valid = ", ".join(defaults) or "none"
            raise UsageError(f"codec {name!r} has no option {key!r}; its options are: {valid}")
        kind = type(defaults[key])
        # bool is an int subclass, but True is not a frame size.
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            raise UsageError(
                f"codec {name!r} option {key} must be {kind.__name__}, "
                f"got {value!r} ({type(value).__name__})"
            )
    return cls(**options)
