"""Ctrl-C and SIGTERM during a campaign, even when Python loses the KeyboardInterrupt.

Python runs a signal handler between any two bytecodes; when that is inside a
garbage-collector callback or a finalizer (Hypothesis times the collector with one),
the KeyboardInterrupt the handler raises is printed as "Exception ignored in ..."
and lost, and a campaign would run on until its last example. While
:func:`signals_noted` is active every SIGINT and SIGTERM is noted (and handled as
before); the hook :func:`checkpoint` makes, called after every example, raises the
interrupt again if one came.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wirefault.campaign import ProgressHook

__all__ = ["checkpoint", "signals_noted"]

_Handler = Callable[[int, FrameType | None], object]


@contextmanager
def signals_noted() -> Iterator[list[int]]:
    """Yield the list of signals received while active; the handlers are restored after."""
    seen: list[int] = []
    saved: dict[signal.Signals, _Handler] = {}
    # Signal handlers can only be set in the main thread (where signals are handled).
    in_main = threading.current_thread() is threading.main_thread()
    for sig in (signal.SIGINT, signal.SIGTERM) if in_main else ():
        handler = signal.getsignal(sig)
        if callable(handler):  # SIG_IGN and SIG_DFL stay as they are
            saved[sig] = handler
            signal.signal(sig, _noting(seen, handler))
    try:
        yield seen
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _noting(seen: list[int], handler: _Handler) -> _Handler:
    def noted(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)
        handler(signum, frame)

    return noted


def checkpoint(seen: list[int], display: ProgressHook | None) -> ProgressHook:
    """The hook called after every example: interrupts if a signal came, then shows progress."""

    def hook(prop: str, examples: int, failures: int) -> None:
        if seen:
            raise KeyboardInterrupt
        if display is not None:
            display(prop, examples, failures)

    return hook
