"""Ctrl-C and SIGTERM during a campaign, even when Python loses the KeyboardInterrupt.

Python runs a signal handler between any two bytecodes; when that is inside a
garbage-collector callback or a finalizer (Hypothesis times the collector with one),
the KeyboardInterrupt the handler raises is printed as "Exception ignored in ..."
and lost; Hypothesis, replaying its final failing example, may take one for the
failure itself. While :func:`signals_noted` is active every SIGINT and SIGTERM is
also noted by the run's :class:`~wirefault.cutoff.Cutoff`, and handled as before.
The cutoff ends every wait (a read, a connect, a server's start) at once, and the
campaign raises KeyboardInterrupt again at its next check: before each example,
shrink candidate and verifying replay, and after every Hypothesis run. So a lost
KeyboardInterrupt is not printed ("Exception ignored in ... Traceback"): it is
not lost.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from wirefault.cutoff import Cutoff

__all__ = ["signals_noted"]

_Handler = Callable[[int, FrameType | None], object]


@contextmanager
def signals_noted(cutoff: Cutoff) -> Iterator[Cutoff]:
    """Note SIGINT and SIGTERM in ``cutoff`` while active; the handlers are restored after."""
    saved: dict[signal.Signals, _Handler] = {}
    # Signal handlers can only be set in the main thread (where signals are handled).
    in_main = threading.current_thread() is threading.main_thread()
    for sig in (signal.SIGINT, signal.SIGTERM) if in_main else ():
        handler = signal.getsignal(sig)
        if callable(handler):  # SIG_IGN and SIG_DFL stay as they are
            saved[sig] = handler
            signal.signal(sig, _noting(cutoff, handler))
    previous_hook = sys.unraisablehook

    def unraisable(info: sys.UnraisableHookArgs) -> None:
        if not (cutoff.interrupted and info.exc_type is KeyboardInterrupt):
            previous_hook(info)  # an interrupt the cutoff noted is raised again later

    if saved:
        sys.unraisablehook = unraisable
    try:
        yield cutoff
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if saved:
            sys.unraisablehook = previous_hook


def _noting(cutoff: Cutoff, handler: _Handler) -> _Handler:
    def noted(signum: int, frame: FrameType | None) -> None:
        cutoff.interrupt()
        handler(signum, frame)

    return noted
