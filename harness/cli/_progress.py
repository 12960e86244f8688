"""The live progress display of ``wirefault fuzz`` (rich, on a terminal only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from wirefault.campaign import ProgressHook

__all__ = ["progress_display"]


@contextmanager
def progress_display(*, enabled: bool) -> Iterator[ProgressHook | None]:
    """Yield a progress hook that redraws one status line on stderr, or None when disabled."""
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    began = time.monotonic()
    totals: dict[str, int] = {}

    def render(prop: str, failures: int) -> Text:
        elapsed = time.monotonic() - began
        examples = sum(totals.values())
        rate = examples / elapsed if elapsed > 0 else 0.0
        line = Text(f"{prop:<16} ", style="bold")
        line.append(f"{examples} examples  {rate:5.1f}/s  ")
        line.append(f"{failures} failure(s)", style="red" if failures else "green")
        line.append(f"  {elapsed:6.1f}s")
        return line

    with Live(Text("starting..."), console=console, transient=True, refresh_per_second=8) as live:

        def hook(prop: str, examples: int, failures: int) -> None:
            totals[prop] = examples
            live.update(render(prop, failures))

        yield hook
