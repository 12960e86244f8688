"""Benchmark the README's first example end to end: ``wirefault fuzz`` against a planted bug.

::

    wirefault fuzz tcp://127.0.0.1:0 --codec line \\
        --start 'wirefault serve buggy-first-frame-only --port {port}' --profile ci

run ``--runs`` times as a user runs it (a fresh process, in a fresh folder), each
timed from launch to exit. Reported: wall seconds of each run, their median, the
exit status, and each property's line of the summary from the median run. Prints
Markdown. A script, not a test::

    python benchmarks/bench_readme.py            # 5 runs
    python benchmarks/bench_readme.py --baseline-python /tmp/before/.venv/bin/python
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import header, median, progress, run_command

COMMAND = [
    "fuzz",
    "tcp://127.0.0.1:0",
    "--codec",
    "line",
    "--start",
    "wirefault serve buggy-first-frame-only --port {port}",
    "--profile",
    "ci",
]
TARGET_SECONDS = 5.0


def _run_once(wirefault: list[str]) -> tuple[float, int, str]:
    """One run in a fresh folder: wall seconds from launch to exit, exit status, stdout."""
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-readme-") as tmp:
        began = time.perf_counter()
        done = run_command([*wirefault, *COMMAND], timeout=600, cwd=Path(tmp))
        return time.perf_counter() - began, done.returncode, done.stdout


def _summary(stdout: str) -> str:
    """The per-property lines of a run's output."""
    return "\n".join(ln for ln in stdout.splitlines() if re.match(r"(FAIL|ok|skip)\s", ln))


def _report(name: str, runs: list[tuple[float, int, str]]) -> None:
    walls = [wall for wall, _, _ in runs]
    middle = sorted(runs)[len(runs) // 2]
    print(f"**{name}**: wall seconds, launch to exit: {', '.join(f'{w:.2f}' for w in walls)}; ")
    print(f"median **{median(walls):.2f} s** (target {TARGET_SECONDS:g} s); exit statuses: ")
    print(", ".join(str(status) for _, status, _ in runs) + ".\n")
    print("The median run's summary:\n\n```\n" + _summary(middle[2]) + "\n```\n")
    slowest = max(runs)
    if slowest[0] > 1.5 * median(walls):  # an outlier: say where its time went
        print(f"The slowest run's summary ({slowest[0]:.2f} s):\n")
        print("```\n" + _summary(slowest[2]) + "\n```\n")


def main() -> None:
    """Run the example ``--runs`` times (alternating with the baseline, if any); print tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument(
        "--baseline-python", help="an interpreter with older wirefault code, run in turn"
    )
    args = parser.parse_args()
    found = shutil.which("wirefault") or str(Path(sys.executable).with_name("wirefault"))
    contenders = {"this checkout": [found]}
    if args.baseline_python:
        contenders["baseline"] = [args.baseline_python, "-m", "wirefault"]
    runs: dict[str, list[tuple[float, int, str]]] = {name: [] for name in contenders}
    for index in range(args.runs):
        # Side by side: the contenders take turns, the first changing every round.
        order = (
            list(contenders)[index % len(contenders) :]
            + list(contenders)[: index % len(contenders)]
        )
        for name in order:
            progress(f"run {index + 1}/{args.runs}: {name} ...")
            runs[name].append(_run_once(contenders[name]))
    print(header())
    print(f"`wirefault {' '.join(COMMAND)}` (quoted as in the README), {args.runs} runs each.\n")
    for name, done in runs.items():
        _report(name, done)


if __name__ == "__main__":
    main()
