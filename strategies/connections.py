"""Connection actions: where a client aborts, and the step sequences clients perform.

:func:`abort_points` is a strategy (a byte position to reset at); the other
functions are plain builders of :mod:`wirefault.scenario` steps, so scenario
strategies read as the shapes they produce.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.scenario import Abort, Close, Expect, ExpectClose, HalfClose, Send, Step
from wirefault.strategies._common import SPREAD_POINTS, check_seconds, check_size, spread

__all__ = ["abort_points", "aborted_after", "exchange", "half_close", "probe_steps"]


def abort_points(data: bytes, *, boundaries: tuple[int, ...] = ()) -> SearchStrategy[int]:
    """Byte positions 0..len(data) at which a client resets, shrinking toward 0.

    The edges (nothing sent, everything sent) and frame ``boundaries`` with one
    byte either side are drawn often; any position can be drawn (every one in data
    up to 16 MiB).

    Raises:
        UsageError: a negative boundary.

    Example::

        @given(abort_points(b"PING\\r\\n"))
        def test_cut(position: int) -> None:
            assert 0 <= position <= 6
    """
    for b in boundaries:
        check_size("abort_points", "boundaries", b)
    return _abort_points(len(data), _abort_edges(len(data), boundaries))


def _abort_edges(size: int, boundaries: tuple[int, ...]) -> tuple[int, ...]:
    """The ends of ``size`` bytes and each boundary with one byte either side."""
    edges = {0, size} | {b + d for b in boundaries for d in (-1, 0, 1) if 0 <= b + d <= size}
    return tuple(sorted(edges))


# Any position (kind 0) first, so shrinking can walk down from an edge (see large_payloads).
# Both are points scaled onto the data (as chunking's cuts are): one strategy for every
# size, where st.integers(0, size) would be built, validated and cached anew for each.
_ABORT_DRAWS = st.tuples(st.integers(0, 1), SPREAD_POINTS)


def _draw_abort_point(draw: st.DrawFn, size: int, edges: tuple[int, ...]) -> int:
    """``draw(abort_points(...))`` for data of ``size`` bytes, with the caller's ``draw``."""
    at_edge, point = draw(_ABORT_DRAWS)
    return edges[spread(point, len(edges))] if at_edge else spread(point, size + 1)


@st.composite
def _abort_points(draw: st.DrawFn, size: int, edges: tuple[int, ...]) -> int:
    return _draw_abort_point(draw, size, edges)


def exchange(
    conn: int, chunks: tuple[bytes, ...], *, count: int, pause: float = 0.0
) -> tuple[Step, ...]:
    """Send ``chunks`` on ``conn`` (``pause`` s apart), then expect ``count`` responses.

    Example::

        >>> [s.op for s in exchange(0, (b"a\\n",), count=1)]
        ['send', 'expect']
    """
    check_size("exchange", "count", count)
    pause = check_seconds("exchange", "pause", pause)
    return (Send(conn=conn, chunks=chunks, pause=pause), Expect(conn=conn, count=count))


def probe_steps(conn: int, request: bytes) -> tuple[Step, ...]:
    """A client ``conn`` sends ``request``, expects one response, and closes.

    Example::

        >>> [s.op for s in probe_steps(1, b"PING\\r\\n")]
        ['send', 'expect', 'close']
    """
    return (*exchange(conn, (request,), count=1), Close(conn=conn))


def aborted_after(conn: int, data: bytes) -> tuple[Step, ...]:
    """A client ``conn`` sends ``data`` (maybe nothing) in one write, then resets (RST).

    Example::

        >>> [s.op for s in aborted_after(0, b"PI")]
        ['send', 'abort']
    """
    return (Send(conn=conn, chunks=(data,)), Abort(conn=conn))


def half_close(
    conn: int, chunks: tuple[bytes, ...], *, pause: float = 0.0, at_once: bool = False
) -> tuple[Step, ...]:
    """Send ``chunks`` on ``conn``, shut down the write side, and read until the server closes.

    ``at_once``: shut down right after the last write, not once the server has read it
    (see :class:`~wirefault.scenario.HalfClose`).

    Example::

        >>> [s.op for s in half_close(0, (b"a\\n", b"b\\n"))]
        ['send', 'half_close', 'expect_close']
    """
    pause = check_seconds("half_close", "pause", pause)
    return (
        Send(conn=conn, chunks=chunks, pause=pause),
        HalfClose(conn=conn, at_once=at_once),
        ExpectClose(conn=conn),
    )
