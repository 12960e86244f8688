"""The live progress display of ``wirefault fuzz`` (rich, on a terminal only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from wirefault.campaign import Progress, ProgressHook

__all__ = ["progress_display", "progress_line"]


def progress_line(progress: Progress, elapsed: float) -> Text:
    """The status line: property, examples, rate, failures, time to the first, elapsed."""
    rate = progress.examples / elapsed if elapsed > 0 else 0.0
    line = Text(f"{progress.property:<16} ", style="bold")
    line.append(f"{progress.examples} examples  {rate:5.1f}/s  ")
    failures = progress.failures
    line.append(f"{failures} failure(s)", style="red" if failures else "green")
    if progress.first_failure is not None:
        line.append(f"  first after {progress.first_failure:.1f}s", style="red")
    line.append(f"  {elapsed:6.1f}s")
    return line


@contextmanager
def progress_display(*, enabled: bool) -> Iterator[ProgressHook | None]:
    """Yield a progress hook that redraws one status line on stderr, or None when disabled."""
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    began = time.monotonic()

    with Live(Text("starting..."), console=console, transient=True, refresh_per_second=8) as live:

        def hook(progress: Progress) -> None:
            live.update(progress_line(progress, time.monotonic() - began))

        yield hook
