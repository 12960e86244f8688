"""Payloads: the bytes a request carries, small by default, large at the edges on request.

Small payloads shrink toward ``b""``. Large payloads are built from a few drawn
bytes repeated to a drawn size, so a megabyte costs Hypothesis a handful of
choices instead of a megabyte of them, and sizes favour the edges where
off-by-one bugs live: 0, 1, max - 1 and max.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.errors import UsageError
from wirefault.strategies._common import check_range, check_size, repeat_to

__all__ = ["large_payloads", "payloads"]


def payloads(
    *, min_size: int = 0, max_size: int = 64, alphabet: bytes | None = None
) -> SearchStrategy[bytes]:
    """Payloads of ``min_size`` to ``max_size`` bytes, shrinking toward the shortest.

    Args:
        min_size: fewest bytes.
        max_size: most bytes; keep it small (scenarios play in milliseconds).
        alphabet: the byte values allowed (``b"ab"``), the first being the one
            shrinking prefers; None allows any byte (shrinking toward ``\\x00``).

    Raises:
        UsageError: a negative size, ``min_size > max_size``, or an empty alphabet.

    Example::

        @given(payloads(max_size=16, alphabet=b"abc"))
        def test_lines_echo(payload: bytes) -> None: ...
    """
    check_range("payloads", "min_size", min_size, "max_size", max_size)
    if alphabet is None:
        return st.binary(min_size=min_size, max_size=max_size)
    if not isinstance(alphabet, bytes) or not alphabet:
        raise UsageError(f"payloads: alphabet must be non-empty bytes or None, got {alphabet!r}")
    values = bytes(dict.fromkeys(alphabet))  # keep the caller's order: it sets the shrink target
    # Drawn as one byte string, then each byte mapped onto the alphabet: one choice for the
    # whole payload instead of one per byte (a list of sampled bytes made HTTP requests
    # cost 14 ms each to draw). Byte 0 maps to the first value, so shrinking still goes
    # toward it.
    table = bytes(values[i % len(values)] for i in range(256))
    return st.binary(min_size=min_size, max_size=max_size).map(lambda b: b.translate(table))


def _edges(min_size: int, max_size: int) -> list[int]:
    """The interesting sizes of the range, smallest first."""
    candidates = (min_size, min_size + 1, max_size - 1, max_size)
    return sorted({s for s in candidates if min_size <= s <= max_size})


@st.composite
def _filled(draw: st.DrawFn, sizes: SearchStrategy[int], fills: SearchStrategy[bytes]) -> bytes:
    size = draw(sizes)
    if size == 0:
        return b""
    return repeat_to(draw(fills), size)


def large_payloads(
    *, max_size: int, min_size: int = 0, alphabet: bytes | None = None
) -> SearchStrategy[bytes]:
    """Payloads up to ``max_size`` bytes, sizes drawn mostly at the edges.

    Sizes come from {min, min + 1, max - 1, max} or anywhere in between; the
    content is a drawn pattern of 1 to 16 bytes repeated, so megabytes are
    cheap to build. Shrinks toward ``min_size`` bytes of the smallest byte.

    Args:
        max_size: the largest payload, typically ``codec.max_frame``.
        min_size: the smallest payload.
        alphabet: the byte values the pattern may use; None allows any byte.

    Raises:
        UsageError: a negative size, ``min_size > max_size``, or an empty alphabet.

    Example::

        @given(large_payloads(max_size=codec.max_frame))
        def test_big_frames(payload: bytes) -> None:
            assert len(payload) <= codec.max_frame
    """
    check_size("large_payloads", "max_size", max_size)
    check_range("large_payloads", "min_size", min_size, "max_size", max_size)
    # Any size first: shrinking then walks a failing size down to the threshold that
    # matters (1025 for a 1 KiB buffer) instead of stopping at the nearest edge.
    sizes = st.one_of(st.integers(min_size, max_size), st.sampled_from(_edges(min_size, max_size)))
    return _filled(sizes, payloads(min_size=1, max_size=16, alphabet=alphabet))
