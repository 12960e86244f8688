"""Argument checks and small building blocks shared by the strategy modules (private).

Every public factory validates its arguments before building anything, and a
bad argument is a :class:`~wirefault.errors.UsageError` that echoes the value
and says what would be accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.faults.toxics import Stream

#: Letters used to fill big payloads: no byte any codec maps, splits on or frames with.
FILL_ALPHABET = b"abcdefghijklmnopqrstuvwxyz"


def check_size(where: str, name: str, value: int, *, minimum: int = 0) -> int:
    """``value`` if it is a whole number >= ``minimum``, else a UsageError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{where}: {name} must be a whole number >= {minimum}, got {value!r}")
    return value


def check_range(where: str, low_name: str, low: int, high_name: str, high: int) -> None:
    """Both sizes valid and ``low <= high``."""
    check_size(where, low_name, low)
    check_size(where, high_name, high)
    if low > high:
        raise UsageError(
            f"{where}: {low_name}={low} is larger than {high_name}={high}; "
            f"give {low_name} <= {high_name}"
        )


def check_seconds(where: str, name: str, value: float, *, positive: bool = False) -> float:
    """``value`` if it is a number of seconds (>= 0, or > 0 when ``positive``)."""
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if not ok or not (value > 0 if positive else value >= 0):
        bound = "> 0" if positive else ">= 0"
        raise UsageError(f"{where}: {name} must be a number of seconds {bound}, got {value!r}")
    return float(value)


def check_codec(where: str, codec: object) -> None:
    """Refuse anything that is not a :class:`Codec`."""
    if not isinstance(codec, Codec):
        raise UsageError(
            f"{where}: expected a Codec such as get_codec('line'), got {type(codec).__name__}"
        )


def check_transport(where: str, codec: Codec, transport: str, instead: str) -> None:
    """Refuse a codec of the wrong transport, naming what to use instead."""
    check_codec(where, codec)
    if codec.transport != transport:
        raise UsageError(
            f"{where} needs a {transport} codec, but {codec.name!r} is a {codec.transport} "
            f"codec; use {instead}"
        )


def check_backend(where: str, backend: str | None) -> str | None:
    """``backend`` if it is None, ``embedded`` or ``toxiproxy``."""
    if backend not in (None, "embedded", "toxiproxy"):
        raise UsageError(
            f"{where}: backend must be 'embedded', 'toxiproxy' or None, got {backend!r}"
        )
    return backend


def check_samples(where: str, samples: Sequence[bytes]) -> tuple[bytes, ...]:
    """``samples`` as a tuple, if each is non-empty bytes.

    Raises:
        UsageError: a sample that is not bytes, or is empty.
    """
    checked = tuple(samples)
    for i, sample in enumerate(checked):
        if not isinstance(sample, bytes) or not sample:
            raise UsageError(
                f"{where}: samples must be non-empty bytes (one whole request each), "
                f"got {sample!r:.60} at index {i}"
            )
    return checked


def probe_request(codec: Codec, probe: bytes | None) -> bytes:
    """``probe`` if given, else the codec's own liveness probe."""
    return codec.probe() if probe is None else probe


def repeat_to(fill: bytes, size: int) -> bytes:
    """``fill`` repeated and cut to exactly ``size`` bytes (cheap even for megabytes)."""
    if size == 0:
        return b""
    return (fill * (size // len(fill) + 1))[:size]


#: Bits of a point of :data:`SPREAD_POINTS`: one point per byte of data up to 16 MiB.
SPREAD_BITS = 24
#: Positions drawn without knowing the data's size, as 24-bit points (three bytes,
#: big-endian) that :func:`spread` scales onto the data: one strategy for data of every
#: size, where ``st.integers(0, size)`` would be a new one (validated, and kept in
#: Hypothesis's strategy cache) for each size. Bytes, not ``st.integers(0, 2**24 - 1)``:
#: Hypothesis (6.170) draws bytes uniformly, but such an integer mostly small (two in
#: three under 65,536), which would put most positions in the data's first 0.4 %. One
#: choice either way; shrinking the bytes toward zero shrinks the point toward 0.
SPREAD_POINTS: SearchStrategy[bytes] = st.binary(
    min_size=SPREAD_BITS // 8, max_size=SPREAD_BITS // 8
)


def spread(point: bytes, count: int) -> int:
    """A point of :data:`SPREAD_POINTS` scaled onto ``0..count - 1`` (``count`` >= 1).

    Monotonic (a smaller point never gives a later position, so shrinking the point
    walks toward 0), even (each position gets ``2**24 / count`` points, give or take
    one) and, for ``count`` up to 2**24, onto: the least point gives 0, the greatest
    ``count - 1``, and no position in between is skipped.

    Example::

        >>> [spread(point, 10) for point in (b"\\0\\0\\0", b"\\x80\\0\\0", b"\\xff\\xff\\xff")]
        [0, 5, 9]
    """
    return (int.from_bytes(point, "big") * count) >> SPREAD_BITS


def cumulative_ends(frames: tuple[bytes, ...]) -> tuple[int, ...]:
    """Offsets where each frame but the last ends in the joined stream."""
    ends: list[int] = []
    total = 0
    for frame in frames[:-1]:
        total += len(frame)
        ends.append(total)
    return tuple(ends)


# -- toxic building blocks (shared by toxics.py and datagrams.py) -------------------------

#: Either direction; shrinks toward ``downstream``, Toxiproxy's default.
STREAMS: SearchStrategy[Stream] = st.sampled_from(("downstream", "upstream"))


def seeds(seeded: bool) -> SearchStrategy[int | None]:
    """Seeds for the embedded backend's random choices (shrinking to 0), or always None."""
    return st.integers(0, 2**32 - 1) if seeded else st.none()


def offset_tuples(*, below: int, max_count: int = 3) -> SearchStrategy[tuple[int, ...]]:
    """Sorted, distinct offsets in ``[0, below)``, one to ``max_count`` of them."""
    drawn = st.lists(st.integers(0, below - 1), min_size=1, max_size=max_count, unique=True)
    return drawn.map(lambda xs: tuple(sorted(xs)))
