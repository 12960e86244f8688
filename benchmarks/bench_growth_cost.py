"""Benchmark what the ``growth`` property costs in a default ``wirefault fuzz`` campaign.

For the reference ``lenprefix`` and ``http`` servers, a default campaign
(``wirefault fuzz tcp://127.0.0.1:0 --codec C --start "wirefault serve C"``,
the ``dev`` profile, the default backend) is run twice per round: with every
default property, and with every default property but ``growth``
(``--properties`` naming the others). The four runs of a round go in a rotating
order, so the machine's load hits each alike; medians over the rounds. Reported:
the campaign's own time (its last line, "N examples in S s": without starting
the server and the fault layer), the wall time of the whole command, and the
time of the ``growth`` line itself::

    python benchmarks/bench_growth_cost.py              # 3 rounds
    python benchmarks/bench_growth_cost.py --rounds 5
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import header, median, progress, table

from wirefault.codecs import get_codec
from wirefault.properties import select_properties

CODECS = ("lenprefix", "http")
_TOTAL = re.compile(r"^(\d+) examples in ([\d.]+)s", re.MULTILINE)
_GROWTH = re.compile(r"^\S+\s+growth\s+\d+ examples\s+([\d.]+)s", re.MULTILINE)


def _run(codec: str, with_growth: bool, seed: int, out: Path) -> tuple[float, float, int, float]:
    """One campaign: (campaign seconds, wall seconds, examples, growth's seconds)."""
    start = f"{sys.executable} -m wirefault serve {codec} --port {{port}}"
    args = [sys.executable, "-m", "wirefault", "fuzz", "tcp://127.0.0.1:0", "--codec", codec]
    args += ["--start", start, "--seed", str(seed), "--out", str(out)]
    if not with_growth:
        names = [p.name for p in select_properties(get_codec(codec)) if p.name != "growth"]
        args += ["--properties", ",".join(names)]
    began = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"{codec}: wirefault fuzz exited {done.returncode}: {done.stderr[-800:]}")
    output = done.stdout + done.stderr
    total, growth = _TOTAL.search(output), _GROWTH.search(output)
    if total is None:
        raise SystemExit(f"{codec}: no summary line in: {output[-800:]}")
    return (
        float(total.group(2)),
        wall,
        int(total.group(1)),
        float(growth.group(1)) if growth else 0.0,
    )


def _each(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    """Measure and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs = [(codec, growth) for codec in CODECS for growth in (True, False)]
    results: dict[tuple[str, bool], list[tuple[float, float, int, float]]] = {r: [] for r in runs}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            order = runs[round_ % len(runs) :] + runs[: round_ % len(runs)]
            for codec, growth in order:
                progress(f"round {round_ + 1}: {codec} {'with' if growth else 'without'} growth")
                out = Path(tmp) / f"{codec}-{growth}-{round_}"
                results[(codec, growth)].append(_run(codec, growth, round_ + 1, out))
    rows = []
    for codec in CODECS:
        with_, without = results[(codec, True)], results[(codec, False)]
        camp_with, camp_without = median([r[0] for r in with_]), median([r[0] for r in without])
        rows.append(
            (
                f"`{codec}`",
                f"{camp_with:.1f} s ({median([r[1] for r in with_]):.1f} s)",
                f"{camp_without:.1f} s ({median([r[1] for r in without]):.1f} s)",
                f"{camp_with - camp_without:+.1f} s ({(camp_with / camp_without - 1) * 100:+.0f}%)",
                f"{median([r[2] for r in with_]):.0f} / {median([r[2] for r in without]):.0f}",
                f"{median([r[3] for r in with_]):.2f} s ({_each([r[3] for r in with_])})",
            )
        )
    print(header())
    heads = (
        "server",
        "with growth",
        "without",
        "difference",
        "examples with / without",
        "the growth line (each round)",
    )
    print(table(heads, rows))


if __name__ == "__main__":
    main()
