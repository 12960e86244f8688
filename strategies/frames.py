"""Valid requests: payloads and their wire bytes, as a codec encodes them.

For the ``http`` codec the requests come in many shapes (methods, chunked
bodies, cookies, multipart...: :mod:`wirefault.strategies.http`), each with the
seams of its own structure, which chunkings cut at as they cut at frame ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.strategies._common import check_codec, check_range, check_size, cumulative_ends
from wirefault.strategies.http import HttpMessage, http_messages
from wirefault.strategies.payloads import payloads
from wirefault.strategies.samples import sample_frames

__all__ = ["Requests", "requests"]


@dataclass(frozen=True)
class Requests:
    """A run of valid requests.

    Attributes:
        payloads: what each request carries (for ``http``, its body).
        wire: one frame each: ``codec.encode(p)`` for each payload, or for
            ``http`` a request of a drawn shape carrying it.
        seams: offsets in :attr:`data`, inside frames, where a frame's own
            structure meets (for ``http``: line ends, chunk-size lines, chunk data).
    """

    payloads: tuple[bytes, ...]
    wire: tuple[bytes, ...]
    seams: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.payloads) != len(self.wire):
            raise UsageError(
                f"Requests: {len(self.payloads)} payloads but {len(self.wire)} wire frames; "
                "give one wire frame per payload"
            )

    @property
    def data(self) -> bytes:
        """Every frame joined: the stream a client sends to pipeline them all."""
        return b"".join(self.wire)

    @property
    def boundaries(self) -> tuple[int, ...]:
        """Offsets in :attr:`data` where one frame ends and the next begins, and the seams."""
        if not self.seams:
            return cumulative_ends(self.wire)
        return tuple(sorted({*cumulative_ends(self.wire), *self.seams}))

    def __len__(self) -> int:
        return len(self.wire)


def requests(
    codec: Codec,
    *,
    min_frames: int = 1,
    max_frames: int = 4,
    max_payload: int = 64,
    min_payload: int = 0,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Requests]:
    """Between ``min_frames`` and ``max_frames`` valid requests of ``codec``.

    Payloads are any bytes of ``min_payload`` to ``max_payload`` bytes (capped
    at ``codec.max_frame``); the codec maps bytes its frames cannot carry.
    Shrinks toward ``min_frames`` payloads of ``min_payload`` zero bytes. For
    the ``http`` codec the requests are :func:`~wirefault.strategies.http.http_messages`
    (payloads are their bodies), shrinking toward ``GET /`` with no body.

    With ``samples`` (whole requests of the codec, e.g. from ``--requests``), the
    requests are made from them: as they are, mutated, or carrying generated
    payloads in a sample's frame, its head kept and its length recomputed (see
    :func:`~wirefault.strategies.samples.sample_frames`). For a codec that cannot
    tell a sample's payload (:meth:`~wirefault.codecs.base.Codec.payload_of` is
    None), samples as they are and requests encoded from generated payloads are
    drawn. Requests made from samples shrink toward the first sample as it is.

    Raises:
        UsageError: negative sizes, ``min_frames > max_frames``,
            ``min_payload`` above the cap, or a sample that is not non-empty bytes.

    Example::

        @given(requests(get_codec("line"), max_frames=3))
        def test_pipelined(reqs: Requests) -> None:
            assert len(reqs.wire) == len(reqs.payloads)
    """
    check_codec("requests", codec)
    check_range("requests", "min_frames", min_frames, "max_frames", max_frames)
    check_size("requests", "max_payload", max_payload)
    cap = min(max_payload, codec.max_frame)
    check_range("requests", "min_payload", min_payload, "max_payload (or codec.max_frame)", cap)
    generated = _generated(codec, min_frames, max_frames, min_payload, cap)
    if not samples:
        return generated
    frame = sample_frames(codec, samples, max_payload=cap)
    mixed = st.lists(frame, min_size=min_frames, max_size=max_frames)
    sampled = mixed.map(lambda fs: Requests(tuple(p for p, _ in fs), tuple(w for _, w in fs)))
    if any(codec.payload_of(s) is not None for s in samples):
        # Generated payloads already ride in the samples' frames, with their head (the
        # type, the id): a frame made from zeros would be refused by the server at once.
        return sampled
    return st.one_of(sampled, generated)


def _generated(
    codec: Codec, min_frames: int, max_frames: int, min_payload: int, cap: int
) -> SearchStrategy[Requests]:
    """Requests built by the codec alone (HTTP: messages of many shapes)."""
    if codec.name == "http":
        shaped = http_messages(
            min_frames=min_frames, max_frames=max_frames, min_body=min_payload, max_body=cap
        )
        return shaped.map(_from_messages)
    sizes = payloads(min_size=min_payload, max_size=cap)
    drawn = st.lists(sizes, min_size=min_frames, max_size=max_frames)
    return drawn.map(lambda ps: Requests(tuple(ps), tuple(codec.encode(p) for p in ps)))


def _from_messages(messages: tuple[HttpMessage, ...]) -> Requests:
    if not messages:
        return Requests((), ())
    starts = (0, *cumulative_ends(tuple(m.wire for m in messages)))
    seams = tuple(start + s for start, m in zip(starts, messages, strict=True) for s in m.seams)
    return Requests(tuple(m.body for m in messages), tuple(m.wire for m in messages), seams)
