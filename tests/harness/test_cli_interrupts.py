"""`wirefault fuzz` notices a Ctrl-C or SIGTERM even when Python swallowed its KeyboardInterrupt."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys

import pytest

from wirefault.cli._interrupts import signals_noted
from wirefault.cutoff import Cutoff


def test_an_interrupt_lost_in_a_gc_callback_is_kept_by_the_cutoff_not_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    printed: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: printed.append(info.exc_type))

    def interrupted_while_collecting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":  # Hypothesis times the collector with such a callback
            signal.raise_signal(signal.SIGINT)

    def other_trouble_while_collecting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            raise ValueError("not ours to hide")

    cutoff = Cutoff.after(3600.0)
    with signals_noted(cutoff):
        cutoff.check()  # nothing yet
        gc.callbacks.append(interrupted_while_collecting)
        try:
            gc.collect()  # Python cannot raise the KeyboardInterrupt here: it is lost
        finally:
            gc.callbacks.remove(interrupted_while_collecting)
        assert printed == []  # not printed as "Exception ignored ...": the cutoff has it
        assert cutoff.passed() and cutoff.left() < 0  # every wait now ends at once
        with pytest.raises(KeyboardInterrupt):
            cutoff.check()
        gc.callbacks.append(other_trouble_while_collecting)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(other_trouble_while_collecting)
        assert printed == [ValueError]


def test_the_handlers_are_restored_after_the_campaign() -> None:
    before = signal.getsignal(signal.SIGINT)
    with signals_noted(Cutoff()):
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_an_interrupt_that_escapes_the_command_still_exits_130() -> None:
    # A second KeyboardInterrupt on the way out (after "interrupted" is printed) must
    # not leave Python to die of SIGINT (-2), which CI and shells read as killed.
    code = (
        "import wirefault.cli as cli\n"
        "def main(argv=None):\n"
        "    raise KeyboardInterrupt\n"
        "cli.main = main\n"
        "cli.entry()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        timeout=60,
        check=False,
        # As from a shell with job control: SIGINT not ignored, whatever runs the tests.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert done.returncode == 130, done.stderr
