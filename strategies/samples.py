"""Requests drawn from samples: the user's real requests, as they are and mutated.

With sample requests (``--requests FILE``), every property draws them as well as
generated requests:

* :func:`sample_frames` — a sample as it is; or, for codecs that can tell a
  request's payload (:meth:`~wirefault.codecs.base.Codec.payload_of`), a sample
  with its payload mutated (bytes set, inserted, deleted, the payload cut) or
  replaced by a generated one, re-framed by the codec with the sample's head and
  the length recomputed (:meth:`~wirefault.codecs.base.Codec.reframe`);
* :func:`sample_malformations` — a sample truncated (``truncated-sample``, sent
  unfinished, then a half-close) or with a few bytes corrupted
  (``corrupted-sample``, which may still be valid).

Cutting and pipelining need nothing more: the reassembly, pipelining, reset and
half-close scenarios cut and pipeline whatever requests they draw. Requests made
from samples shrink toward the first sample as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.errors import CodecError, FrameError, UsageError
from wirefault.strategies._common import check_samples
from wirefault.strategies.malformed import MalformedFrame
from wirefault.strategies.payloads import payloads as generated_payloads

__all__ = ["sample_frames", "sample_malformations"]

#: Most edits applied to one mutated payload.
MAX_EDITS = 4
#: Bytes worth trying first where a byte is set: zero, the extremes, the sign bits.
_EDGE_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x01)
_EDIT_KINDS = ("set", "insert", "delete", "cut")


def _bytes_values() -> SearchStrategy[int]:
    return st.one_of(st.sampled_from(_EDGE_BYTES), st.integers(0, 255))


@st.composite
def _edited(draw: st.DrawFn, payload: bytes, cap: int) -> bytes:
    """``payload`` after one to :data:`MAX_EDITS` edits, at most ``cap`` bytes."""
    data = bytearray(payload)
    for _ in range(draw(st.integers(1, MAX_EDITS))):
        kind = draw(st.sampled_from(_EDIT_KINDS))
        at = draw(st.integers(0, len(data)))
        if kind == "set" and at < len(data):
            data[at] = draw(_bytes_values())
        elif kind == "insert":
            data[at:at] = bytes(draw(st.lists(_bytes_values(), min_size=1, max_size=8)))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "cut":
            del data[at:]
    return bytes(data[:cap])


@st.composite
def _mutated(
    draw: st.DrawFn,
    codec: Codec,
    reframable: tuple[tuple[bytes, bytes], ...],
    fresh: SearchStrategy[bytes],
    cap: int,
) -> tuple[bytes, bytes]:
    sample, payload = draw(st.sampled_from(reframable))
    # The sample's payload edited, or a generated one in the sample's frame.
    edits = _edited(payload, max(cap, len(payload)))
    new = draw(fresh) if draw(st.booleans()) else draw(edits)
    if not new and not codec.framed:
        return payload, sample  # no bytes at all is no request for an unframed codec
    try:
        return new, codec.reframe(sample, new)
    except CodecError:
        return payload, sample  # a payload the codec cannot carry: the sample as it is


def sample_frames(
    codec: Codec, samples: Sequence[bytes], *, max_payload: int = 64
) -> SearchStrategy[tuple[bytes, bytes]]:
    """``(payload, wire bytes)`` of one request drawn from ``samples``.

    A sample as it is (its payload as the codec tells it, else the sample itself),
    or, for codecs with :meth:`~wirefault.codecs.base.Codec.payload_of`, with its
    payload mutated or replaced by a generated one, and re-framed: the sample's
    head (type, id) kept, its length recomputed. A new payload is at most
    ``max_payload`` bytes (a mutated one the sample's own size, if larger), never
    more than ``codec.max_frame``. Shrinks toward the first sample as it is.

    Raises:
        UsageError: no samples, or a sample that is not non-empty bytes.

    Example::

        @given(sample_frames(get_codec("lenprefix"), [b"\\x00\\x00\\x00\\x02hi"]))
        def test_framed(frame: tuple[bytes, bytes]) -> None:
            payload, wire = frame
            assert wire[4:] == payload
    """
    checked = check_samples("sample_frames", samples)
    if not checked:
        raise UsageError("sample_frames: give at least one sample request")
    payloads = [codec.payload_of(s) for s in checked]
    as_is = st.sampled_from(
        [(p if p is not None else s, s) for s, p in zip(checked, payloads, strict=True)]
    )
    reframable = tuple((s, p) for s, p in zip(checked, payloads, strict=True) if p is not None)
    if not reframable:
        return as_is
    cap = min(max_payload, codec.max_frame)
    fresh = generated_payloads(min_size=0, max_size=cap)
    return st.one_of(as_is, _mutated(codec, reframable, fresh, cap))


def _rejects(codec: Codec, data: bytes) -> bool:
    """Whether the codec's request decoder fails on ``data`` followed by EOF."""
    decoder = codec.request_decoder()
    try:
        decoder.feed(data)
        decoder.feed(b"")
    except FrameError:
        return True
    return False


@st.composite
def _truncated(draw: st.DrawFn, codec: Codec, long_enough: tuple[bytes, ...]) -> MalformedFrame:
    sample = draw(st.sampled_from(long_enough))
    data = sample[: draw(st.integers(1, len(sample) - 1))]
    return MalformedFrame(
        "truncated-sample", data, complete=False, must_fail=codec.framed and _rejects(codec, data)
    )


@st.composite
def _corrupted(draw: st.DrawFn, samples: tuple[bytes, ...]) -> MalformedFrame:
    data = bytearray(draw(st.sampled_from(samples)))
    positions = st.integers(0, len(data) - 1)
    for at in draw(st.lists(positions, min_size=1, max_size=3, unique=True)):
        data[at] ^= draw(st.sampled_from((0xFF, 0x80, 0x01)) | st.integers(1, 255))
    # Corrupt bytes may still be a valid request, or the start of a longer one: the
    # client half-closes after them, so a correct server answers or closes.
    return MalformedFrame("corrupted-sample", bytes(data), complete=False, must_fail=False)


def sample_malformations(
    codec: Codec, samples: Sequence[bytes]
) -> list[SearchStrategy[MalformedFrame]]:
    """Malformed requests made from ``samples``: ``truncated-sample``, ``corrupted-sample``.

    A truncated sample is a strict prefix of one (samples of one byte have none);
    ``must_fail`` says whether the codec's own decoder rejects it. Both are sent
    unfinished (``complete=False``): the client half-closes after them.

    Raises:
        UsageError: a sample that is not non-empty bytes.

    Example::

        kinds = sample_malformations(get_codec("line"), [b"GET k\\r\\n"])
        @given(st.one_of(*kinds))
        def test_unfinished(bad: MalformedFrame) -> None:
            assert not bad.complete
    """
    checked = check_samples("sample_malformations", samples)
    if not checked:
        return []
    kinds: list[SearchStrategy[MalformedFrame]] = []
    long_enough = tuple(s for s in checked if len(s) > 1)
    if long_enough:
        kinds.append(_truncated(codec, long_enough))
    kinds.append(_corrupted(checked))
    return kinds
