"""The codec contract: sans-I/O framing shared by every codec.

A codec knows how a protocol cuts a byte stream into frames, and nothing
about sockets. The runner feeds it whatever ``recv()`` returned, in whatever
pieces the network chose; a decoder must give the same frames for every split
of the same stream.

Contract of :meth:`Decoder.feed` (after h11's readers):

* ``feed(data)`` consumes all of ``data`` and returns the frames it completed,
  in order (possibly none: incomplete input is a state, not an error);
* ``feed(b"")`` means end of stream: it returns any frame that EOF completes,
  and raises :class:`~wirefault.errors.FrameError` if bytes of an unfinished
  frame are still pending;
* bytes that cannot start or continue a frame raise ``FrameError`` naming what
  was seen and what was expected; the decoder is then unusable.

Frames are ``bytes``: the frame's *payload* (a line without its terminator, a
length-prefixed body, a datagram) or, for structured protocols (HTTP, RESP),
the canonical encoding of the whole message. Frames are compared after
:meth:`Codec.normalise`, which removes volatile parts such as an HTTP
``Date`` header.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import ClassVar, Literal

__all__ = ["Codec", "Decoder", "OptionValue", "Transport"]

Transport = Literal["stream", "datagram"]
OptionValue = int | str | bool


class Decoder(abc.ABC):
    """An incremental decoder: bytes in, frames out, any split tolerated."""

    @abc.abstractmethod
    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data`` (``b""`` = end of stream) and return completed frames.

        Raises:
            FrameError: the bytes cannot be a frame of this codec.
        """

    @property
    @abc.abstractmethod
    def pending(self) -> int:
        """How many bytes of an unfinished frame are buffered."""

    def note_sent(self, data: bytes) -> None:  # noqa: B027 (an optional hook: no-op)
        """Bytes the client sent on this connection, in order (default: ignored).

        The runner tells each connection's *response* decoder what it wrote, for
        protocols whose responses are framed by the request they answer (an HTTP
        response to ``HEAD`` has no body, whatever its ``Content-Length`` says).
        """


class Codec(abc.ABC):
    """A protocol's framing: how to build requests and cut responses.

    Subclasses are small frozen dataclasses whose fields are the codec's
    options; :meth:`options` returns them as JSON-ready values so a replay
    file can rebuild the same codec with ``get_codec(name, **options)``.
    """

    #: Registry name, as given to ``--codec``.
    name: ClassVar[str]
    #: ``stream`` (TCP, AF_UNIX) or ``datagram`` (UDP).
    transport: ClassVar[Transport]
    #: False when the codec cannot tell where a response ends (``raw``):
    #: responses are then compared as one byte string, read until quiet.
    framed: ClassVar[bool] = True
    #: Options whose accepted types differ from their default's type, e.g.
    #: ``{"length_bytes": (int, str)}`` for a width that may also be ``"varint"``.
    option_types: ClassVar[Mapping[str, tuple[type, ...]]] = {}

    @abc.abstractmethod
    def options(self) -> Mapping[str, OptionValue]:
        """The codec's options as JSON-ready values (``get_codec(name, **options)``)."""

    @property
    @abc.abstractmethod
    def max_frame(self) -> int:
        """The largest payload a valid request may carry."""

    @abc.abstractmethod
    def encode(self, payload: bytes) -> bytes:
        """Build the wire bytes of one valid request carrying ``payload``.

        ``payload`` is arbitrary bytes of length <= :attr:`max_frame`; codecs whose
        frames cannot hold some bytes (a ``\\n`` in a line) map them to bytes they can
        carry, deterministically.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """

    @abc.abstractmethod
    def request_decoder(self) -> Decoder:
        """A decoder for requests (what a client sends), as a server would parse them."""

    @abc.abstractmethod
    def response_decoder(self) -> Decoder:
        """A decoder for responses (what a server sends back)."""

    def normalise(self, frame: bytes) -> bytes:
        """Remove volatile parts of a response frame before comparison (default: none)."""
        return frame

    def probe(self) -> bytes:
        """A small valid request that any server of this protocol answers (liveness probe)."""
        return self.encode(b"wirefault-probe")

    def payload_of(self, request: bytes) -> bytes | None:
        """The payload of ``request``, one whole request frame (optional).

        With it, sample requests (``--requests``) are also sent with their payload
        mutated and re-framed by :meth:`reframe`. The default, None, means the codec
        cannot tell: samples are then sent as they are, cut, truncated and corrupted.
        """
        return None

    def reframe(self, request: bytes, payload: bytes) -> bytes:
        """A request shaped like ``request`` (its header, its type) carrying ``payload``.

        Lengths are recomputed: ``reframe(r, payload_of(r))`` is ``r`` again for a
        codec that implements both. The default is :meth:`encode`.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        return self.encode(payload)

    def completion(self, prefix: bytes, *, limit: int) -> bytes | None:
        """The bytes that finish the request ``prefix`` leaves unfinished, or None.

        ``prefix`` is everything a client sent on one connection. The rest is what a
        *lenient* server of the protocol reads next: one whose limits are larger than
        this codec's (a line longer than ``max_line`` still ends at its newline).
        Returns ``b""`` when ``prefix`` ends where a frame ends; None when the codec
        cannot tell, the bytes are invalid whatever follows, or the rest would exceed
        ``limit`` bytes (callers then half-close instead, see
        :mod:`wirefault.codecs.completion`). Default: None.
        """
        return None

    def join(self, frames: list[bytes]) -> bytes:
        """Concatenate frames for comparison as one byte string (used by unframed codecs)."""
        return b"".join(frames)
