"""Strategies that cut new data in every example hold no more memory as sizes keep changing.

A campaign meets a new payload size in almost every example. A strategy built
for one size (``st.integers(1, size - 1)``) is kept by Hypothesis's strategy
cache and by our memoised builders, so memory grew with every size seen, up to
those caches' bounds. Cuts and abort points are drawn from strategies that do
not depend on the size.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.strategies import abort_points, chunkings

#: Sizes drawn for in each example: 20 x 10 per run, about a hundred distinct ones.
PER_EXAMPLE = 10
#: Derandomized: every run draws the same choices, so a run whose sizes are offset
#: by 1,000 meets only sizes no earlier run met.
RUN = settings(
    max_examples=20, phases=[Phase.generate], database=None, deadline=None, derandomize=True
)
SIZES = st.integers(0, 999)


def _drawn_for_new_sizes(offset: int, draw_for: Callable[[int], SearchStrategy[object]]) -> None:
    """One Hypothesis run whose examples draw for sizes ``offset`` to ``offset + 999``."""

    @RUN
    @given(st.data())
    def run(data: st.DataObject) -> None:
        for _ in range(PER_EXAMPLE):
            data.draw(draw_for(offset + data.draw(SIZES)))

    run()


def _retained_by_new_sizes(draw_for: Callable[[int], SearchStrategy[object]]) -> int:
    """Bytes still held after a run that met only new sizes (a first run warms up)."""
    tracemalloc.start()
    try:
        _drawn_for_new_sizes(1000, draw_for)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        _drawn_for_new_sizes(2000, draw_for)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_chunkings_of_ever_new_sizes_retain_nothing() -> None:
    # Sized strategies held ~1.2 MB after this run (~10 KiB a size); these hold ~15 kB.
    def cut(size: int) -> SearchStrategy[object]:
        return chunkings(bytes(size), boundaries=(size // 3, size // 2))

    assert _retained_by_new_sizes(cut) < 200_000


def test_abort_points_of_ever_new_sizes_retain_nothing() -> None:
    # Sized strategies held ~0.5 MB after this run; these hold ~20 kB.
    def abort(size: int) -> SearchStrategy[object]:
        return abort_points(bytes(size), boundaries=(size // 2,))

    assert _retained_by_new_sizes(abort) < 200_000
