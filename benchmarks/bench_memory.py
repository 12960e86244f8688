"""Benchmark memory over a long campaign: the RSS of ``wirefault fuzz``, sampled over time.

Runs every contender side by side (at once, so they share the machine's load)::

    wirefault fuzz 127.0.0.1:0 --codec lenprefix \\
        --start 'python -m wirefault serve lenprefix --port {port}' \\
        --backend embedded --max-examples 1000000 --time-budget SECONDS --workers W

for each ``--workers`` count asked for, with this checkout's code and, with
``--baseline-python PY``, with the code an older checkout installed into the
interpreter PY (``git worktree add /tmp/before <commit>``, a venv there,
``pip install -e /tmp/before``). Every ``--every`` seconds it sums the RSS of the
command's own processes (the command and its workers: ``/proc/PID/status`` VmRSS of
every descendant whose command line runs ``wirefault fuzz``; the servers under test
and the guardian are not wirefault's campaign memory). Prints Markdown: RSS at 10 s;
the median and the highest sample over the minute after the first one and over the
last minute, and the growth of each between the two; the examples each run played
(``WIREFAULT_BENCH_SAMPLES=1`` adds every sample)::

    python benchmarks/bench_memory.py --seconds 600 --workers 1 2 \\
        --baseline-python /tmp/before/.venv/bin/python
    python benchmarks/bench_memory.py --seconds 120 --properties large-payload

The target: after the first minute, RSS grows by at most 10 % over a 10-minute
campaign of every property. Single samples swing with the example under way, so
growth is measured between those two one-minute windows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import header, progress, table

#: Seconds after which growth is measured: start-up and the first rounds come before.
WARM_UP = 60.0


@dataclass
class Contender:
    """One command whose memory is followed."""

    label: str
    python: str
    workers: int
    process: subprocess.Popen[str] | None = None
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MiB)
    examples: int = 0
    elapsed: float = 0.0

    def argv(self, args: argparse.Namespace) -> list[str]:
        """The ``wirefault fuzz`` command line of this contender."""
        serve = f"{sys.executable} -m wirefault serve lenprefix --port {{port}}"
        argv = [self.python, "-m", "wirefault", "fuzz", "127.0.0.1:0", "--codec", "lenprefix"]
        argv += ["--start", serve, "--backend", args.backend, "--max-examples", "1000000"]
        argv += ["--time-budget", str(args.seconds), "--workers", str(self.workers), "--json"]
        if args.properties:
            argv += ["--properties", args.properties]
        return argv


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def campaign_rss_mib(root: int) -> float:
    """RSS of ``root`` and its descendants that run ``wirefault fuzz``, in MiB."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += _children(pid)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"fuzz" not in cmdline or b"wirefault" not in b" ".join(cmdline):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def run(contenders: list[Contender], args: argparse.Namespace, scratch: Path) -> None:
    """Start every contender at once, sample them until they have all exited."""
    began = time.monotonic()
    for i, c in enumerate(contenders):
        out = scratch / f"c{i}"
        out.mkdir()
        c.process = subprocess.Popen(
            [*c.argv(args), "--out", str(out / "wirefault-out")],
            cwd=out,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    next_sample = began
    while any(c.process is not None and c.process.poll() is None for c in contenders):
        now = time.monotonic()
        if now >= next_sample:
            for c in contenders:
                assert c.process is not None
                if c.process.poll() is None:
                    c.samples.append((now - began, campaign_rss_mib(c.process.pid)))
            shown = [f"{c.label}: {c.samples[-1][1]:.0f} MiB" for c in contenders if c.samples]
            progress(f"{now - began:5.0f}s " + "  ".join(shown))
            next_sample += args.every
        time.sleep(min(0.5, max(next_sample - time.monotonic(), 0.05)))
    for c in contenders:
        assert c.process is not None
        assert c.process.stdout is not None
        text = c.process.stdout.read()
        c.process.stdout.close()
        with contextlib.suppress(ValueError):
            summary = json.loads(text)
            c.examples, c.elapsed = int(summary["examples"]), float(summary["elapsed_s"])


def window(samples: list[tuple[float, float]], start: float, end: float) -> list[float]:
    """The RSS samples taken from ``start`` to ``end`` seconds."""
    return [rss for t, rss in samples if start <= t <= end]


def growth(after: float, before: float) -> str:
    """``after`` over ``before`` as a signed percentage."""
    return f"{(after - before) / before:+.0%}" if before else "n/a"


def report(contenders: list[Contender], seconds: float) -> str:
    """The Markdown table of the runs.

    Single samples swing with the example under way (a 1 MiB large-payload example
    has several copies of its payload in flight), so growth is measured between
    windows: the minute after the first one (60-120 s) and the last minute, by the
    median and by the highest sample of each.
    """
    rows = []
    for c in contenders:
        first = window(c.samples, WARM_UP, 2 * WARM_UP)
        last = window(c.samples, seconds - WARM_UP, seconds + 10)
        if not first or not last:
            continue
        m1, m2 = statistics.median(first), statistics.median(last)
        rows.append(
            (
                c.label,
                f"{window(c.samples, 0, 10)[-1]:.0f}",
                f"{m1:.0f} / {max(first):.0f}",
                f"{m2:.0f} / {max(last):.0f}",
                growth(m2, m1),
                growth(max(last), max(first)),
                c.examples,
            )
        )
    headers = (
        "contender", "RSS at 10 s MiB", "1-2 min: median / max MiB",
        "last min: median / max MiB", "growth of the median", "growth of the max", "examples",
    )  # fmt: skip
    return table(headers, rows)


def main() -> None:
    """Parse the options, run the contenders, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="each campaign's budget")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--properties", help="only these properties (default: all)")
    parser.add_argument("--baseline-python", help="an interpreter with older wirefault code")
    args = parser.parse_args()
    contenders = [
        Contender(f"this checkout, --workers {w}", sys.executable, w) for w in args.workers
    ]
    if args.baseline_python:
        for w in args.workers:
            contenders.append(Contender(f"baseline, --workers {w}", args.baseline_python, w))
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-memory-") as scratch:
        run(contenders, args, Path(scratch))
    print(header())
    print(report(contenders, args.seconds))
    if os.environ.get("WIREFAULT_BENCH_SAMPLES"):
        for c in contenders:
            print(f"\n{c.label}: " + " ".join(f"{t:.0f}:{rss:.0f}" for t, rss in c.samples))


if __name__ == "__main__":
    main()
