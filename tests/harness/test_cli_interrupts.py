"""`wirefault fuzz` notices a Ctrl-C or SIGTERM even when Python swallowed its KeyboardInterrupt."""

from __future__ import annotations

import gc
import signal
import sys

import pytest

from wirefault.cli._interrupts import checkpoint, signals_noted


def test_an_interrupt_lost_in_a_gc_callback_is_raised_after_the_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: lost.append(unraisable.exc_type))

    def interrupted_while_collecting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":  # Hypothesis times the collector with such a callback
            signal.raise_signal(signal.SIGINT)

    shown: list[tuple[str, int, int]] = []
    with signals_noted() as seen:
        hook = checkpoint(seen, lambda *progress: shown.append(progress))
        hook("reset", 1, 0)
        gc.callbacks.append(interrupted_while_collecting)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(interrupted_while_collecting)
        assert lost == [KeyboardInterrupt]  # Python printed it and went on
        with pytest.raises(KeyboardInterrupt):
            hook("reset", 2, 0)
    assert shown == [("reset", 1, 0)]


def test_the_handlers_are_restored_after_the_campaign() -> None:
    before = signal.getsignal(signal.SIGINT)
    with signals_noted():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
