"""Benchmark the README's first example end to end: ``wirefault fuzz`` against a planted bug.

::

    wirefault fuzz tcp://127.0.0.1:0 --codec line \\
        --start 'wirefault serve buggy-first-frame-only --port {port}' --profile ci

run ``--runs`` times as a user runs it (a fresh process, in a fresh folder), each
timed from launch to exit. Reported: wall seconds of each run, their median, the
exit status, and each property's line of the summary from the median run. Prints
Markdown. A script, not a test::

    python benchmarks/bench_readme.py            # 5 runs
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


def main() -> None:
    """Run the example ``--runs`` times; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5)")
    args = parser.parse_args()
    wirefault = shutil.which("wirefault") or str(Path(sys.executable).with_name("wirefault"))
    runs: list[tuple[float, int, str]] = []
    for index in range(args.runs):
        progress(f"run {index + 1}/{args.runs} ...")
        with tempfile.TemporaryDirectory(prefix="wirefault-bench-readme-") as tmp:
            began = time.perf_counter()
            done = run_command([wirefault, *COMMAND], timeout=600, cwd=Path(tmp))
            runs.append((time.perf_counter() - began, done.returncode, done.stdout))
    walls = [wall for wall, _, _ in runs]
    middle = sorted(runs)[len(runs) // 2]
    lines = [ln for ln in middle[2].splitlines() if re.match(r"(FAIL|ok|skip)\s", ln)]
    print(header())
    print(f"`wirefault {' '.join(COMMAND)}` (quoted as in the README), {args.runs} runs.\n")
    print(f"Wall seconds, launch to exit: {', '.join(f'{w:.2f}' for w in walls)}; ")
    print(f"median **{median(walls):.2f} s** (target {TARGET_SECONDS:g} s); exit statuses: ")
    print(", ".join(str(status) for _, status, _ in runs) + ".\n")
    print("The median run's summary:\n\n```\n" + "\n".join(lines) + "\n```")


if __name__ == "__main__":
    main()
