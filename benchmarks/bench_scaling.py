"""Benchmark parallel scaling: ``wirefault fuzz --workers 2`` vs 1, and ``pytest -n 2`` vs 1.

Wall times, side by side in interleaved rounds (the order alternating), medians:

* ``wirefault fuzz tcp://127.0.0.1:0 --codec lenprefix --start 'python -m wirefault
  serve lenprefix --port {port}' --backend none --json --max-examples N --seed R``
  with ``--workers 1`` and ``--workers 2`` (each worker a process with its own server);
  with ``--baseline DIR`` also the same commands run with that checkout's code
  (``PYTHONPATH=DIR``, in DIR), in the same rounds;
* ``python -m pytest -q -p no:cacheprovider -n 1`` and ``-n 2`` in examples/kvstore,
  as shipped (``max_examples=10``), and in a temporary copy whose marker asks for
  ``--kv-examples`` examples, so that test work outweighs pytest's start-up; with
  ``--wirefault-backend embedded`` (``--kv-backend``): ``auto`` would start a
  toxiproxy-server per xdist worker when one is installed, and Toxiproxy 2.12.0 was
  seen to panic here (``ToxicLink.AddToxic``: index out of range) mid-run.

To say what limits the speed-up it also reports the campaign time the workers
measured themselves (JSON ``elapsed_s``, and ``per_worker`` where the code reports
it), the rest of the wall time (interpreter, imports, servers, merging), each
property's (each test's) own time from the JUnit files of the one-worker runs, and
the best two-worker time the scheduling allows with them: ``--workers`` cuts every
property's examples into runs that free workers take from one queue (half the sum),
or, in a checkout whose JSON has no ``per_worker``, deals whole properties out
round-robin; xdist hands whole tests out as workers free up. Prints Markdown::

    python benchmarks/bench_scaling.py            # about 3 minutes
    python benchmarks/bench_scaling.py --quick
    python benchmarks/bench_scaling.py --baseline /work/before --no-pytest --rounds 7
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from _common import REPO, baseline_env, checkout_label, header, median, progress, run_command, table

KVSTORE = REPO / "examples" / "kvstore"
SERVE = f"{sys.executable} -m wirefault serve lenprefix --port {{port}}"


@dataclass
class Config:
    """One command run with 1 and with 2 workers."""

    name: str
    #: For wirefault rows: the checkout whose code runs (None: this one).
    checkout: Path | None = None
    walls: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: Per property (per test), its seconds in each one-worker run.
    parts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: Campaign seconds the command reported (wirefault's JSON elapsed_s), per count.
    inner: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: Each two-worker run's per-worker campaign seconds (JSON per_worker), if reported.
    each: list[list[float]] = field(default_factory=list)

    def speedup(self) -> float:
        """Median one-worker wall time over median two-worker wall time."""
        return median(self.walls[1]) / median(self.walls[2])

    def part_medians(self) -> dict[str, float]:
        """Each part's median one-worker seconds."""
        return {k: median(v) for k, v in self.parts.items()}


def junit_times(path: Path) -> dict[str, float]:
    """Each testcase's time in a JUnit file, by name (pytest's ids without the module)."""
    root = ET.parse(path).getroot()  # noqa: S314 - the file our own child process just wrote
    return {case.get("name", "?"): float(case.get("time", "0")) for case in root.iter("testcase")}


def run_fuzz(workers: int, examples: int, seed: int, config: Config) -> None:
    """One ``wirefault fuzz`` run; records its wall time (and per-property times)."""
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as tmp:
        out = Path(tmp)
        argv = [
            sys.executable, "-m", "wirefault", "fuzz", "tcp://127.0.0.1:0", "--codec", "lenprefix",
            "--start", SERVE, "--backend", "none", "--json", "--quiet",
            "--max-examples", str(examples), "--seed", str(seed),
            "--workers", str(workers), "--out", str(out / "out"),
            "--junit", str(out / "junit.xml"),
        ]  # fmt: skip
        checkout = config.checkout
        env = baseline_env(checkout) if checkout else None
        began = time.perf_counter()
        done = run_command(argv, timeout=900, cwd=checkout or REPO, env=env)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"{config.name} --workers {workers} failed:\n{done.stderr[-2000:]}")
        summary = json.loads(done.stdout)
        config.walls[workers].append(wall)
        config.inner[workers].append(float(summary["elapsed_s"]))
        if workers == 2 and "per_worker" in summary:
            config.each.append([float(w["elapsed_s"]) for w in summary["per_worker"]])
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
    """The longest worker's load when the parts are dealt out in order (``--workers`` before)."""
    parts = list(times.values())
    return max(sum(parts[0::2]), sum(parts[1::2]))


def measure(args: argparse.Namespace) -> tuple[list[Config], list[Config]]:
    """Every configuration, ``--rounds`` times, 1 and 2 workers alternating first."""
    fuzz = [Config(f"wirefault fuzz, {args.examples} examples/property")]
    if args.baseline:
        label = f"wirefault fuzz at {checkout_label(args.baseline)} (before)"
        fuzz.append(Config(f"{label}, {args.examples} examples/property", args.baseline))
    tests: list[Config] = []
    if not args.no_pytest:
        tests.append(Config("pytest examples/kvstore (as shipped: 10 examples/property)"))
        tests.append(Config(f"pytest examples/kvstore, {args.kv_examples} examples/property"))
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as tmp:
        heavy_dir = heavier_kvstore(Path(tmp), args.kv_examples)
        for round_ in range(args.rounds):
            progress(f"round {round_ + 1}/{args.rounds} ...")
            for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
                for config in fuzz if round_ % 4 < 2 else fuzz[::-1]:
                    run_fuzz(workers, args.examples, round_, config)
                for config, folder in zip(tests, (KVSTORE, heavy_dir), strict=False):
                    run_pytest(workers, folder, config, args.kv_backend)
    return fuzz, tests


def fuzz_bound(config: Config) -> float:
    """The best two-worker campaign time the scheduling allows, from one-worker parts."""
    parts = config.part_medians()
    if config.each:  # every property's examples split in two
        return sum(parts.values()) / 2
    return round_robin(parts)


def report(fuzz: list[Config], tests: list[Config], args: argparse.Namespace) -> str:
    """The speed-up table, what the time goes to, then each configuration's parts."""
    configs = fuzz + tests
    rows = [
        (c.name, f"{median(c.walls[1]):.2f}", f"{median(c.walls[2]):.2f}", f"{c.speedup():.2f}x")
        for c in configs
    ]
    out = [f"{args.rounds} rounds, medians; wall seconds of the whole command.\n"]
    out.append(table(("run", "1 worker s", "2 workers s", "speed-up"), rows))
    out.append(
        "\nWhere `wirefault fuzz`'s time goes (medians, s): *campaign* is the JSON "
        "`elapsed_s` (two workers: the slower one's), *each worker* the two workers' own "
        "(JSON `per_worker`), *outside* the wall time minus the campaign (interpreter, "
        "imports, servers, merging), *bound* the best two-worker campaign the scheduling "
        "allows with the one-worker parts (half their sum when every property is split; "
        "the longer round-robin share when whole properties are dealt out).\n"
    )
    detail = []
    for c in fuzz:
        each = (
            " / ".join(f"{median([e[i] for e in c.each]):.2f}" for i in range(2)) if c.each else "—"
        )
        outside = [
            f"{median([w - i for w, i in zip(c.walls[n], c.inner[n], strict=True)]):.2f}"
            for n in (1, 2)
        ]
        detail.append(
            (
                c.name,
                f"{median(c.inner[1]):.2f}",
                f"{median(c.inner[2]):.2f}",
                each,
                *outside,
                f"{sum(c.part_medians().values()):.2f}",
                f"{fuzz_bound(c):.2f}",
            )
        )
    headers = (
        "run", "campaign 1 worker", "campaign 2 workers", "each worker", "outside 1 worker",
        "outside 2 workers", "sum of parts", "bound",
    )  # fmt: skip
    out.append(table(headers, detail))
    if tests:
        out.append(
            "\npytest: *sum of parts* is the tests' own time (JUnit, one worker); *best "
            "split* the longer share of the best two-way split of whole tests (longest "
            "first onto the less loaded worker), which no xdist scheduling can beat.\n"
        )
        out.append(
            table(
                ("run", "sum of parts s", "best split longest share s"),
                [
                    (
                        c.name,
                        f"{sum(c.part_medians().values()):.2f}",
                        f"{best_split(c.part_medians()):.2f}",
                    )
                    for c in tests
                ],
            )
        )
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
    for c in configs:
        parts = sorted(((s, k) for k, s in c.part_medians().items()), reverse=True)
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
    parser.add_argument(
        "--baseline", type=Path, help="also run the wirefault rows with this checkout's code"
    )
    parser.add_argument("--no-pytest", action="store_true", help="only the wirefault fuzz rows")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.examples = args.examples or (25 if args.quick else 100)
    args.kv_examples = args.kv_examples or (25 if args.quick else 100)
    fuzz, tests = measure(args)
    print(header())
    print(report(fuzz, tests, args))


if __name__ == "__main__":
    main()
