"""Benchmark parallel scaling: ``wirefault fuzz --workers 2`` vs 1, and ``pytest -n 2`` vs 1.

Wall times, side by side in interleaved rounds (the order alternating), medians:

* ``wirefault fuzz tcp://127.0.0.1:0 --codec lenprefix --start 'python -m harness
  serve lenprefix --port {port}' --backend none --json --max-examples N --seed R``
  with ``--workers 1`` and ``--workers 2`` (each worker a process with its own server);
* ``python -m pytest -q -p no:cacheprovider -n 1`` and ``-n 2`` in examples/kvstore,
  as shipped (``max_examples=10``), and in a temporary copy whose marker asks for
  ``--kv-examples`` examples, so that test work outweighs pytest's start-up; with
  ``--wirefault-backend embedded`` (``--kv-backend``): ``auto`` would start a
  toxiproxy-server per xdist worker when one is installed, and Toxiproxy 2.12.0 was
  seen to panic here (``ToxicLink.AddToxic``: index out of range) mid-run.

To say what limits the speed-up it also reports each property's (each test's) own
time, from the JUnit files of the one-worker runs, and the best wall time the
scheduling could reach with them: ``--workers`` deals properties out round-robin
in a fixed order; xdist hands tests out as workers free up. Prints Markdown::

    python benchmarks/bench_scaling.py            # about 3 minutes
    python benchmarks/bench_scaling.py --quick
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from _common import REPO, header, median, progress, run_command, table

KVSTORE = REPO / "examples" / "kvstore"
SERVE = f"{sys.executable} -m harness serve lenprefix --port {{port}}"


@dataclass
class Config:
    """One command run with 1 and with 2 workers."""

    name: str
    walls: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: Per property (per test), its seconds in each one-worker run.
    parts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: Seconds the workers themselves reported (wirefault's JSON elapsed_s), per count.
    inner: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def speedup(self) -> float:
        """Median one-worker wall time over median two-worker wall time."""
        return median(self.walls[1]) / median(self.walls[2])


def junit_times(path: Path) -> dict[str, float]:
    """Each testcase's time in a JUnit file, by name (pytest's ids without the module)."""
    root = ET.parse(path).getroot()  # noqa: S314 - the file our own child process just wrote
    return {case.get("name", "?"): float(case.get("time", "0")) for case in root.iter("testcase")}


def run_fuzz(workers: int, examples: int, seed: int, config: Config) -> None:
    """One ``wirefault fuzz`` run; records its wall time (and per-property times)."""
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as tmp:
        out = Path(tmp)
        argv = [
            sys.executable, "-m", "harness", "fuzz", "tcp://127.0.0.1:0", "--codec", "lenprefix",
            "--start", SERVE, "--backend", "none", "--json", "--quiet",
            "--max-examples", str(examples), "--seed", str(seed),
            "--workers", str(workers), "--out", str(out / "out"),
            "--junit", str(out / "junit.xml"),
        ]  # fmt: skip
        began = time.perf_counter()
        done = run_command(argv, timeout=900)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"wirefault fuzz --workers {workers} failed:\n{done.stderr[-2000:]}")
        config.walls[workers].append(wall)
        config.inner[workers].append(float(re.findall(r'"elapsed_s": ([\d.]+)', done.stdout)[-1]))
        if workers == 1:
            for name, seconds in junit_times(out / "junit.xml").items():
                config.parts[name].append(seconds)


def run_pytest(workers: int, folder: Path, config: Config, backend: str) -> None:
    """One ``pytest -n N`` run in ``folder``; records its wall time (and per-test times)."""
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as tmp:
        junit = Path(tmp) / "junit.xml"
        argv = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers),
            f"--junitxml={junit}", f"--wirefault-out={Path(tmp) / 'out'}",
            f"--wirefault-backend={backend}",
        ]  # fmt: skip
        began = time.perf_counter()
        done = run_command(argv, timeout=900, cwd=folder)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"pytest -n {workers} failed in {folder}:\n{done.stdout[-2000:]}")
        config.walls[workers].append(wall)
        if workers == 1:
            for name, seconds in junit_times(junit).items():
                config.parts[name].append(seconds)


def heavier_kvstore(tmp: Path, examples: int) -> Path:
    """A copy of examples/kvstore whose wirefault marker asks for ``examples`` examples."""
    copy = tmp / "kvstore"
    shutil.copytree(KVSTORE, copy, ignore=shutil.ignore_patterns("__pycache__", ".tox"))
    suite = copy / "tests" / "test_robustness.py"
    text = suite.read_text()
    if "max_examples=10" not in text:
        raise SystemExit("examples/kvstore changed: its marker no longer says max_examples=10")
    suite.write_text(text.replace("max_examples=10", f"max_examples={examples}"))
    return copy


def best_split(times: dict[str, float]) -> float:
    """The longest worker's load when the parts go, longest first, to the least-loaded of 2."""
    loads = [0.0, 0.0]
    for seconds in sorted(times.values(), reverse=True):
        loads[loads.index(min(loads))] += seconds
    return max(loads)


def round_robin(times: dict[str, float]) -> float:
    """The longest worker's load when the parts are dealt out in order, as --workers does."""
    parts = list(times.values())
    return max(sum(parts[0::2]), sum(parts[1::2]))


def measure(args: argparse.Namespace) -> list[Config]:
    """Every configuration, ``--rounds`` times, 1 and 2 workers alternating first."""
    fuzz = Config(f"wirefault fuzz, {args.examples} examples/property")
    shipped = Config("pytest examples/kvstore (as shipped: 10 examples/property)")
    heavy = Config(f"pytest examples/kvstore, {args.kv_examples} examples/property")
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as tmp:
        heavy_dir = heavier_kvstore(Path(tmp), args.kv_examples)
        for round_ in range(args.rounds):
            progress(f"round {round_ + 1}/{args.rounds} ...")
            for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
                run_fuzz(workers, args.examples, round_, fuzz)
                run_pytest(workers, KVSTORE, shipped, args.kv_backend)
                run_pytest(workers, heavy_dir, heavy, args.kv_backend)
    return [fuzz, shipped, heavy]


def report(configs: list[Config], args: argparse.Namespace) -> str:
    """The speed-up table, then each configuration's parts and schedule bounds."""
    rows = [
        (
            c.name,
            f"{median(c.walls[1]):.2f}",
            f"{median(c.walls[2]):.2f}",
            f"{c.speedup():.2f}x",
            f"{sum(median(v) for v in c.parts.values()):.2f}",
            f"{round_robin({k: median(v) for k, v in c.parts.items()}):.2f}"
            if c is configs[0]
            else "—",
            f"{best_split({k: median(v) for k, v in c.parts.items()}):.2f}",
        )
        for c in configs
    ]
    headers = (
        "run", "1 worker s", "2 workers s", "speed-up", "sum of parts s",
        "round-robin longest share s", "best split longest share s",
    )  # fmt: skip
    out = [f"{args.rounds} rounds, medians; wall seconds of the whole command.\n"]
    out.append(table(headers, rows))
    out.append("\nEvery run's wall time, s (in round order):\n")
    out.append(
        table(
            ("run", "1 worker", "2 workers"),
            [
                (c.name, *(", ".join(f"{w:.2f}" for w in c.walls[n]) for n in (1, 2)))
                for c in configs
            ],
            align="lll",
        )
    )
    fuzz = configs[0]
    out.append(
        f"\n`wirefault fuzz` campaign time reported by the workers (JSON `elapsed_s`, the "
        f"slowest worker's): {median(fuzz.inner[1]):.2f} s with 1 worker, "
        f"{median(fuzz.inner[2]):.2f} s with 2; the rest of the wall time is start-up "
        "(interpreter, imports, the server) and merging.\n"
    )
    for c in configs:
        parts = sorted(((median(v), k) for k, v in c.parts.items()), reverse=True)
        out.append(f"\nPer part, {c.name} (one worker, median s):\n")
        out.append(table(("part", "s"), [(k, f"{s:.3f}") for s, k in parts]))
    return "\n".join(out)


def main() -> None:
    """Parse options, run, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, fewer examples")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, quick 1)")
    parser.add_argument("--examples", type=int, help="wirefault examples (default 100, quick 25)")
    parser.add_argument(
        "--kv-examples", type=int, help="the heavier kvstore's examples (default 100, quick 25)"
    )
    parser.add_argument(
        "--kv-backend",
        choices=("auto", "embedded", "toxiproxy"),
        default="embedded",
        help="--wirefault-backend for the kvstore runs (default embedded; see the docstring)",
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.examples = args.examples or (25 if args.quick else 100)
    args.kv_examples = args.kv_examples or (25 if args.quick else 100)
    configs = measure(args)
    print(header())
    print(report(configs, args))


if __name__ == "__main__":
    main()
