"""The heap a campaign starts with is left out of the collections that end its rounds."""

from __future__ import annotations

import gc
import weakref

from wirefault.rounds import frozen_heap


class _Node:
    """An object that can sit in a reference cycle and be watched."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_frozen_inside_unfrozen_after_and_garbage_from_before_collected_first() -> None:
    before = _cycle()  # garbage already: collected before the freeze, not kept frozen
    with frozen_heap():
        assert before() is None
        assert gc.get_freeze_count() > 0
        during = _cycle()  # garbage a round makes: still collected
        gc.collect()
        assert during() is None
    assert gc.get_freeze_count() == 0


def test_an_inner_frozen_heap_leaves_the_outer_frozen() -> None:
    with frozen_heap():
        frozen = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == frozen  # not unfrozen by the inner one
    assert gc.get_freeze_count() == 0


def test_what_lives_at_the_start_is_walked_by_no_collection_inside() -> None:
    kept = _Node()
    with frozen_heap():
        assert gc.is_tracked(kept)
        generations = [gc.get_objects(generation=g) for g in range(3)]
        assert not any(kept is obj for objects in generations for obj in objects)
