"""`wirefault fuzz` notices a Ctrl-C or SIGTERM even when Python swallowed its KeyboardInterrupt."""

from __future__ import annotations

import gc
import signal
import sys

import pytest

from wirefault.cli._interrupts import signals_noted
from wirefault.cutoff import Cutoff


def test_an_interrupt_lost_in_a_gc_callback_is_kept_by_the_cutoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: lost.append(unraisable.exc_type))

    def interrupted_while_collecting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":  # Hypothesis times the collector with such a callback
            signal.raise_signal(signal.SIGINT)

    cutoff = Cutoff.after(3600.0)
    with signals_noted(cutoff):
        cutoff.check()  # nothing yet
        gc.callbacks.append(interrupted_while_collecting)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(interrupted_while_collecting)
        assert lost == [KeyboardInterrupt]  # Python printed it and went on
        assert cutoff.passed() and cutoff.left() < 0  # every wait now ends at once
        with pytest.raises(KeyboardInterrupt):
            cutoff.check()


def test_the_handlers_are_restored_after_the_campaign() -> None:
    before = signal.getsignal(signal.SIGINT)
    with signals_noted(Cutoff()):
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
