"""Benchmark time to detection for every server in the buggy zoo, and write docs/ZOO.md.

For each buggy target (``wirefault.targets.all_targets()``, kind ``buggy``) and each seed,
a fresh server (``python -m wirefault serve NAME --port {port}``, managed, so a
crash is restarted) is fuzzed as ``wirefault fuzz --profile P --backend B --seed S``
would, with the CLI's defaults otherwise (deadline 1 s, shrink budget 30 s, 3
verifying replays), and either only the one property that should catch its bug
(``CAUGHT_BY``, ``--properties caught``, the default) or every default property
in the CLI's order (``--properties all``: then the time to detection also depends
on where that property comes in the schedule). Recorded per run:

* examples until the FIRST failing example of the ``CAUGHT_BY`` property, and
  seconds from launch (before the server is started) to it;
* shrink time: from that first failure until Hypothesis hands back the smallest
  failing scenario; then the time of the verifying replays;
* the shrunk scenario's size (``Scenario.size()``: steps + bytes sent + toxics) and
  the replay agreement (failing replays / replays).

Reports medians over the seeds; a seed that does not find the bug counts as a miss.
Prints Markdown and writes docs/ZOO.md. A script, not a test::

    python benchmarks/bench_detection.py            # 5 seeds
    python benchmarks/bench_detection.py --quick    # 2 seeds
    python benchmarks/bench_detection.py --seeds 3 --profile dev --properties all --no-zoo
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    DOCS,
    command_line,
    header,
    load_line,
    machine_line,
    median,
    progress,
    table,
)

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig, PropertyResult
from wirefault.faults import open_fault_layer
from wirefault.properties import Property, get_property, select_properties
from wirefault.target import ServerProcess
from wirefault.targets import TargetInfo, all_targets

TARGET_SECONDS = 2.0


class _TimedCampaign(Campaign):
    """A campaign that notes when shrinking ends (when verification begins)."""

    concluded = 0.0

    def _concluded(self, prop: Property, state: object) -> PropertyResult:  # type: ignore[override]
        self.concluded = time.monotonic()
        return super()._concluded(prop, state)  # type: ignore[arg-type]


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


def run_one(info: TargetInfo, seed: int, out: Path, args: argparse.Namespace) -> Run:
    """Fuzz a fresh server of ``info``, seed ``seed``; time its CAUGHT_BY property's detection."""
    command = f"{sys.executable} -m wirefault serve {info.name} --port {{port}}"
    codec = info.codec()
    caught = get_property(info.caught_by)
    props = [caught] if args.properties == "caught" else select_properties(codec)
    if caught not in props:  # an opt-in oracle (echo) is added, as --oracle adds it
        props.append(caught)
    launched = time.monotonic()
    layer = None
    if args.backend != "none":
        transport = "udp" if info.transport == "udp" else "tcp"
        layer = open_fault_layer(args.backend, transport=transport)
    try:
        with ServerProcess(command, Address(info.transport, "127.0.0.1", 0)) as server:
            config = CampaignConfig(
                address=server.address,
                codec=codec,
                properties=tuple(props),
                profile=args.profile,
                seed=seed,
                out_dir=out,
                start=command,
                label=f"{info.name}-{seed}",
                samples=info.requests,
                preamble=info.preamble,
            )
            campaign = _TimedCampaign(config, server=server, fault_layer=layer)
            campaign.check_reachable()
            results = campaign.run().results
            ended = time.monotonic()
    finally:
        if layer is not None:
            layer.close()
    result = results[props.index(caught)]
    failure = result.failure
    if result.status != "failed" or failure is None:
        return Run(False, examples=result.examples, note=result.note)
    # Measured from the campaign's start, whatever ran before it in the interleaved rounds.
    found_at = campaign.cutoff.started + result.seconds_to_failure
    return Run(
        True,
        examples=result.examples_to_failure,
        seconds=found_at - launched,
        shrink=campaign.concluded - found_at if len(props) == 1 else float("nan"),
        verify=ended - campaign.concluded if len(props) == 1 else float("nan"),
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
                run = run_one(target.info, seed, Path(tmp) / f"{target.info.name}-{seed}", args)
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
    """Which targets meet the target (median detection from launch within 2 s) and which miss it."""
    misses = [t for t in zoo if not t.median_seconds() <= TARGET_SECONDS]
    slowest = max(zoo, key=TargetRuns.median_seconds)
    if not misses:
        return (
            f"Every zoo bug was found within {TARGET_SECONDS:g} s of launch (median); the slowest, "
            f"`{slowest.info.name}`, in {slowest.median_seconds():.2f} s."
        )
    names = ", ".join(f"`{t.info.name}` ({_fmt(t.median_seconds(), 2)} s)" for t in misses)
    return f"Missed the {TARGET_SECONDS:g} s median target: {names}."


def _which(args: argparse.Namespace) -> str:
    if args.properties == "caught":
        return "its `caught by` property"
    return "every default property in the CLI's order"


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

Each row: a fresh server per seed, fuzzed with {_which(args)} under the
`{args.profile}` profile, backend `{args.backend}`, the CLI's defaults (deadline 1 s,
shrink budget 30 s, 3 verifying replays); {args.seeds} seeds (0 to {args.seeds - 1}).
*found*: seeds that found the bug. *examples to detect*: until the first failing
example (median over the seeds that found it); *seconds to detect*: from launch
(before the server starts) to that example. *shrunk size*: the minimal
scenario's steps + bytes sent + toxics. *replay agreement*: verifying replays of the
shrunk scenario that failed again, over all seeds.

```sh
{command_line()}
```

Measured on {machine_line()}; 1-minute load average {load_line()} (the machine is
shared: see docs/PERFORMANCE.md for runs side by side).

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
    parser.add_argument("--profile", default="ci", choices=("ci", "dev", "thorough"))
    parser.add_argument(
        "--backend", default="none", choices=("none", "auto", "embedded", "toxiproxy")
    )
    parser.add_argument(
        "--properties",
        default="caught",
        choices=("caught", "all"),
        help="only the CAUGHT_BY property, or every default property in the CLI's order",
    )
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
    print(
        f"{args.seeds} seeds per target, {_which(args)}, profile `{args.profile}`, backend "
        f"`{args.backend}`; medians; {time.monotonic() - began:.0f} s in all.\n"
    )
    print(table(headers, rows(zoo, with_bug=False), align="ll" + "r" * 7))
    print(f"\n{summary(zoo)}")
    if not args.no_zoo and not args.only:
        args.zoo.write_text(zoo_markdown(zoo, args))
        progress(f"wrote {args.zoo}")


if __name__ == "__main__":
    main()
