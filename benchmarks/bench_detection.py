"""Benchmark time to detection for every server in the buggy zoo, and write docs/ZOO.md.

For each buggy target (``wirefault.targets.all_targets()``, kind ``buggy``) and each seed,
a fresh server (``python -m wirefault serve NAME --port {port}``, managed, so a
crash is restarted) is fuzzed with the one property that should catch its bug
(``CAUGHT_BY``) under the ``ci`` profile, as ``wirefault fuzz --profile ci
--properties P --backend none --seed S`` would, with the CLI's defaults
(deadline 1 s, shrink budget 30 s, 3 verifying replays). Recorded per run:

* examples and seconds until the FIRST failing example
  (``PropertyResult.examples_to_failure`` / ``seconds_to_failure``);
* shrink time: from that first failure until Hypothesis hands back the smallest
  failing scenario; then the time of the verifying replays;
* the shrunk scenario's size (``Scenario.size()``: steps + bytes sent + toxics) and
  the replay agreement (failing replays / replays).

Reports medians over the seeds; a seed that does not find the bug counts as a miss.
Prints Markdown and writes docs/ZOO.md. A script, not a test::

    python benchmarks/bench_detection.py            # 5 seeds
    python benchmarks/bench_detection.py --quick    # 2 seeds
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import DOCS, command_line, header, machine_line, median, progress, table

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig, PropertyResult
from wirefault.properties import Property, get_property
from wirefault.target import ServerProcess
from wirefault.targets import TargetInfo, all_targets

TARGET_SECONDS = 10.0


class _TimedCampaign(Campaign):
    """A campaign that notes when shrinking ends (when verification begins)."""

    concluded = 0.0

    def _conclude(self, prop: Property, state: object) -> PropertyResult:  # type: ignore[override]
        self.concluded = time.monotonic()
        return super()._conclude(prop, state)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Run:
    """One seed against one target."""

    found: bool
    examples: int = 0
    seconds: float = 0.0
    shrink: float = 0.0
    verify: float = 0.0
    size: int = 0
    agreement: tuple[int, int] = (0, 0)
    note: str = ""


@dataclass
class TargetRuns:
    """Every seed's run against one target."""

    info: TargetInfo
    runs: list[Run] = field(default_factory=list)

    def found(self) -> list[Run]:
        """The runs that found the bug."""
        return [r for r in self.runs if r.found]

    def median_seconds(self) -> float:
        """Median seconds to detection; a miss counts as never (infinite)."""
        return median([r.seconds if r.found else float("inf") for r in self.runs])


def run_one(info: TargetInfo, seed: int, out: Path) -> Run:
    """Fuzz a fresh server of ``info`` with its CAUGHT_BY property, seed ``seed``."""
    command = f"{sys.executable} -m wirefault serve {info.name} --port {{port}}"
    with ServerProcess(command, Address(info.transport, "127.0.0.1", 0)) as server:
        config = CampaignConfig(
            address=server.address,
            codec=info.codec(),
            properties=(get_property(info.caught_by),),
            profile="ci",
            seed=seed,
            out_dir=out,
            start=command,
            label=f"{info.name}-{seed}",
            samples=info.requests,
            preamble=info.preamble,
        )
        campaign = _TimedCampaign(config, server=server)
        began = time.monotonic()
        (result,) = campaign.run().results
        ended = time.monotonic()
    failure = result.failure
    if result.status != "failed" or failure is None:
        return Run(False, examples=result.examples, note=result.note)
    return Run(
        True,
        examples=result.examples_to_failure,
        seconds=result.seconds_to_failure,
        shrink=campaign.concluded - began - result.seconds_to_failure,
        verify=ended - campaign.concluded,
        size=failure.scenario.size(),
        agreement=(failure.agreement[1], failure.agreement[0]),
    )


def measure(args: argparse.Namespace) -> list[TargetRuns]:
    """Every buggy target, every seed (seeds in the outer loop, so drift spreads)."""
    zoo = [TargetRuns(info) for info in all_targets() if info.kind == "buggy"]
    if args.only:
        zoo = [t for t in zoo if t.info.name in args.only.split(",")]
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as tmp:
        for seed in range(args.seeds):
            for target in zoo:
                progress(f"seed {seed}: {target.info.name} ...")
                run = run_one(target.info, seed, Path(tmp) / f"{target.info.name}-{seed}")
                target.runs.append(run)
                progress(f"  {run}")
    return zoo


def _fmt(value: float, digits: int = 1) -> str:
    return "—" if value != value else f"{value:.{digits}f}"  # NaN: no run found it


def rows(zoo: list[TargetRuns], *, with_bug: bool) -> list[tuple[str, ...]]:
    """One row per target: medians over the runs that found the bug."""
    out = []
    for t in zoo:
        found = t.found()
        agree = sum(r.agreement[0] for r in found), sum(r.agreement[1] for r in found)
        row = [f"`{t.info.name}`"]
        if with_bug:
            row += [t.info.bug, t.info.protocol]
        row += [
            f"`{t.info.caught_by}`",
            f"{len(found)}/{len(t.runs)}",
            _fmt(median([r.examples for r in found]), 0),
            _fmt(t.median_seconds(), 2) if found else "missed",
            _fmt(median([r.size for r in found]), 0),
            _fmt(median([r.shrink for r in found])),
        ]
        if not with_bug:
            row.append(_fmt(median([r.verify for r in found])))
        row.append(f"{agree[0]}/{agree[1]}")
        out.append(tuple(row))
    return out


def summary(zoo: list[TargetRuns]) -> str:
    """Which targets meet the target (median detection under 10 s) and which miss it."""
    misses = [t for t in zoo if not t.median_seconds() < TARGET_SECONDS]
    slowest = max(zoo, key=TargetRuns.median_seconds)
    if not misses:
        return (
            f"Every zoo bug was found in under {TARGET_SECONDS:g} s (median); the slowest, "
            f"`{slowest.info.name}`, in {slowest.median_seconds():.2f} s."
        )
    names = ", ".join(f"`{t.info.name}` ({_fmt(t.median_seconds(), 2)} s)" for t in misses)
    return f"Missed the {TARGET_SECONDS:g} s median target: {names}."


def zoo_markdown(zoo: list[TargetRuns], args: argparse.Namespace) -> str:
    """The text of docs/ZOO.md."""
    headers = (
        "server", "the bug", "protocol", "caught by", "found", "examples to detect",
        "seconds to detect", "shrunk size", "shrink s", "replay agreement",
    )  # fmt: skip
    return f"""# The buggy zoo

Servers with one realistic bug each (`targets/buggy/`), and how fast wirefault finds
each bug with the property aimed at it. Start one with `wirefault serve NAME`;
list them with `wirefault targets`.

Each row: a fresh server per seed, fuzzed with its `caught by` property under the
`ci` profile (25 examples), no fault layer, the CLI's defaults (deadline 1 s,
shrink budget 30 s, 3 verifying replays); {args.seeds} seeds (0 to {args.seeds - 1}).
*found*: seeds that found the bug. *examples / seconds to detect*: until the first
failing example (median over the seeds that found it). *shrunk size*: the minimal
scenario's steps + bytes sent + toxics. *replay agreement*: verifying replays of the
shrunk scenario that failed again, over all seeds.

```sh
{command_line()}
```

Measured on {machine_line()}.

{table(headers, rows(zoo, with_bug=True), align="llllrrrrrr")}

{summary(zoo)}

Reading the table: with an even number of seeds a median is the mean of the middle
two. The size counts bytes sent, so a bug that needs bulk to show (a client that
stops reading while 2 MiB of requests pile up, a reply larger than the socket
buffers) keeps a large minimal scenario. A shrink time near 30 s means the shrink
budget ran out and the smallest failure found by then was kept. Timings, method
and what dominates them: docs/PERFORMANCE.md, "Time to detection".
"""


def main() -> None:
    """Parse options, run, print the table, write docs/ZOO.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds instead of 5")
    parser.add_argument("--seeds", type=int, help="seeds per target (default 5, quick 2)")
    parser.add_argument("--only", metavar="A,B", help="only these targets")
    parser.add_argument(
        "--zoo", type=Path, default=DOCS / "ZOO.md", help="where to write the zoo page"
    )
    parser.add_argument("--no-zoo", action="store_true", help="do not write the zoo page")
    args = parser.parse_args()
    args.seeds = args.seeds or (2 if args.quick else 5)
    began = time.monotonic()
    zoo = measure(args)
    headers = (
        "server", "caught by", "found", "examples to detect", "seconds to detect",
        "shrunk size", "shrink s", "verify s", "replay agreement",
    )  # fmt: skip
    print(header())
    print(f"{args.seeds} seeds per target; medians; {time.monotonic() - began:.0f} s in all.\n")
    print(table(headers, rows(zoo, with_bug=False), align="ll" + "r" * 7))
    print(f"\n{summary(zoo)}")
    if not args.no_zoo and not args.only:
        args.zoo.write_text(zoo_markdown(zoo, args))
        progress(f"wrote {args.zoo}")


if __name__ == "__main__":
    main()
