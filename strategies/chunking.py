"""Chunkings: the same bytes cut into writes, the way a network may deliver them.

A chunking is a tuple of non-empty chunks that join back to the data. Cut
points are drawn as a list and then sorted and deduplicated (construction, not
filtering), mixing three kinds of cut:

* anywhere in the data;
* next to a frame boundary (at it, one before, one after) — where reassembly
  bugs live;
* around one byte (two cuts), isolating a single byte as its own write.

A whole byte-at-a-time plan is drawn too. Every chunking shrinks toward one
chunk: the data as a single write; a cut shrinks toward the first byte.

The strategies do not depend on the data: each cut is drawn as a point of a
fixed range (``_common.SPREAD_POINTS``) and scaled onto the data's positions,
or onto its boundaries, so one strategy serves data of every size. Strategies
built per size (``st.integers(1, size - 1)``) would each be validated, and kept
in Hypothesis's strategy cache and ours: memory that grows with every payload
size a campaign meets. Scaling keeps the shapes: draws are even over the
positions, smaller points give earlier cuts (so shrinking still walks toward
the first byte), the range's ends give the data's ends, and every position is
reachable in data up to 16 MiB (beyond, cuts land at evenly spaced positions).
"""

from __future__ import annotations

import functools
import itertools

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.strategies._common import SPREAD_POINTS, check_size, spread

__all__ = ["byte_at_a_time", "chunkings", "coalesced", "cut_at"]

#: Most cuts drawn when ``max_chunks`` is not given (plus byte-at-a-time plans).
_DEFAULT_CUTS = 32
#: One plan in about this many sends every byte as its own write.
_BYTE_AT_A_TIME_ODDS = 8


def coalesced(wire: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """Many frames as one write: ``(b"".join(wire),)``.

    Example::

        >>> coalesced((b"a\\n", b"b\\n"))
        (b'a\\nb\\n',)
    """
    return (b"".join(wire),)


def byte_at_a_time(data: bytes) -> tuple[bytes, ...]:
    """Each byte of ``data`` as its own write (``b""`` gives no chunks).

    Example::

        >>> byte_at_a_time(b"ab\\n")
        (b'a', b'b', b'\\n')
    """
    return tuple(data[i : i + 1] for i in range(len(data)))


def cut_at(data: bytes, points: list[int] | tuple[int, ...]) -> tuple[bytes, ...]:
    """``data`` cut at ``points`` (sorted, deduplicated, ends ignored) into non-empty chunks.

    Example::

        >>> cut_at(b"abcd", [3, 1, 1, 0])
        (b'a', b'bc', b'd')
    """
    inner = sorted({p for p in points if 0 < p < len(data)})
    edges = [0, *inner, len(data)]
    chunks = tuple(data[a:b] for a, b in itertools.pairwise(edges))
    return chunks or (data,)


def _near(size: int, boundaries: tuple[int, ...]) -> tuple[int, ...]:
    """Inner offsets at a boundary or one byte either side of it."""
    return tuple(sorted({b + d for b in boundaries for d in (-1, 0, 1) if 0 < b + d < size}))


# A cut is drawn as (kind, point) and placed on the data by _placed. Kinds are drawn as an
# index, so they shrink in this order: a single cut anywhere, then at a boundary, then
# around one byte (with no boundary near, the middle one is left out).
_ANYWHERE, _AT_BOUNDARY, _AROUND_BYTE = "anywhere", "at boundary", "around byte"
_KINDS = (_ANYWHERE, _AT_BOUNDARY, _AROUND_BYTE)
_KINDS_NO_BOUNDARY = (_ANYWHERE, _AROUND_BYTE)
_MANY_CUTS = st.booleans()
_EVERY_BYTE = st.integers(0, _BYTE_AT_A_TIME_ODDS - 1)


@functools.lru_cache(maxsize=128)
def _cut_lists(most: int, kinds: int) -> SearchStrategy[list[tuple[int, bytes]]]:
    # Memoised: a strategy built afresh for every example is also validated afresh, which
    # costs more than drawing from it. Keyed by the most cuts (at most the cut limit, 32
    # unless max_chunks says more), never by the data's size: the cache stays this small.
    return st.lists(st.tuples(st.integers(0, kinds - 1), SPREAD_POINTS), max_size=most)


def _placed(kind: str, point: bytes, size: int, near: tuple[int, ...]) -> tuple[int, ...]:
    """The cut points a drawn (kind, point) makes in ``size`` bytes."""
    if kind == _ANYWHERE:
        return (1 + spread(point, size - 1),)
    if kind == _AT_BOUNDARY:
        return (near[spread(point, len(near))],)
    byte = spread(point, size)
    return (byte, byte + 1)


def _cut(
    draw: st.DrawFn, data: bytes, limit: int, boundaries: tuple[int, ...], every_byte: bool
) -> tuple[bytes, ...]:
    size = len(data)
    # Half the plans make at most two cuts: a frame split once or twice, right at a
    # boundary, is the likeliest trigger and would be rare among many cuts.
    most = limit if limit <= 2 or draw(_MANY_CUTS) else 2
    near = _near(size, boundaries)
    kinds = _KINDS if near else _KINDS_NO_BOUNDARY
    drawn = draw(_cut_lists(most, len(kinds)))
    # Drawn after the cuts, so "no cut, not byte by byte" is the simplest choice of all
    # (a separate strategy branch would be simpler still, and shrink to byte by byte).
    if every_byte and draw(_EVERY_BYTE) == 1:
        return byte_at_a_time(data)
    cuts = {p for kind, point in drawn for p in _placed(kinds[kind], point, size, near)}
    return cut_at(data, sorted(p for p in cuts if 0 < p < size)[:limit])


@st.composite
def _planned(
    draw: st.DrawFn, data: bytes, limit: int, boundaries: tuple[int, ...], every_byte: bool
) -> tuple[bytes, ...]:
    return _cut(draw, data, limit, boundaries, every_byte)


def _draw_chunking(draw: st.DrawFn, data: bytes, boundaries: tuple[int, ...]) -> tuple[bytes, ...]:
    """``draw(chunkings(data, boundaries=boundaries))``, drawn with the caller's ``draw``.

    For scenario composites, which cut new data in every example: the same choices
    without building (and validating) a new strategy each time.
    """
    if len(data) <= 1:
        return (data,)
    return _cut(draw, data, _cut_limit(len(data), None), boundaries, True)


def _cut_limit(size: int, max_chunks: int | None) -> int:
    """The most cuts a plan makes in ``size`` bytes (``size`` >= 2)."""
    return min(size - 1, (max_chunks - 1) if max_chunks else _DEFAULT_CUTS)


def chunkings(
    data: bytes, *, max_chunks: int | None = None, boundaries: tuple[int, ...] = ()
) -> SearchStrategy[tuple[bytes, ...]]:
    """Ways to cut ``data`` into writes; each joins back to ``data``.

    Args:
        data: the bytes to send.
        max_chunks: most chunks (None: up to 33 drawn cuts, or byte at a time).
        boundaries: offsets where frames meet (``Requests.boundaries``); cuts
            land at them and one byte either side more often.

    Raises:
        UsageError: ``max_chunks`` < 1 or a negative boundary.

    Example::

        @given(chunkings(b"PING\\r\\nPING\\r\\n", boundaries=(6,)))
        def test_split(chunks: tuple[bytes, ...]) -> None:
            assert b"".join(chunks) == b"PING\\r\\nPING\\r\\n"
    """
    if max_chunks is not None:
        check_size("chunkings", "max_chunks", max_chunks, minimum=1)
    for b in boundaries:
        check_size("chunkings", "boundaries", b)
    if len(data) <= 1 or max_chunks == 1:
        return st.just((data,))
    every_byte = max_chunks is None or max_chunks >= len(data)
    return _planned(data, _cut_limit(len(data), max_chunks), tuple(boundaries), every_byte)
