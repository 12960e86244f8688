"""``wirefault fuzz --workers N``: properties shared out over N worker processes.

Each worker is ``wirefault fuzz`` itself, run with a share of the properties
(round-robin), its own output folder and, with ``--start``, its own server on
its own port. Their JSON summaries are merged into one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.properties import Property

__all__ = ["run_workers"]


def _worker_argv(args: argparse.Namespace, names: list[str], out: Path) -> list[str]:
    argv = [sys.executable, "-m", "harness", "fuzz", args.target, "--json", "--workers", "1"]
    argv += ["--properties", ",".join(names), "--out", str(out)]
    if args.junit:
        argv += ["--junit", str(out / "junit.xml")]
    for flag in (
        "codec",
        "start",
        "max_examples",
        "time_budget",
        "seed",
        "deadline",
        "backend",
        "profile",
        "probe",
        "shrink_budget",
        "codec_max_frame",
        "codec_header_bytes",
        "codec_byteorder",
        "codec_max_line",
    ):
        value = getattr(args, flag, None)
        if value is not None:
            argv += [f"--{flag.removeprefix('codec_').replace('_', '-')}", str(value)]
    if args.greeting:
        argv.append("--greeting")
    return argv


def run_workers(args: argparse.Namespace, props: list[Property]) -> int:
    """Run the campaign over ``args.workers`` processes; returns the exit status."""
    count = min(args.workers, len(props))
    shares = [[p.name for p in props[i::count]] for i in range(count)]
    procs = [
        subprocess.Popen(
            _worker_argv(args, share, args.out / f"worker-{i}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, share in enumerate(shares)
    ]
    outputs = [p.communicate() for p in procs]
    summaries: list[dict[str, Any]] = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode not in (0, 1):
            message = err.decode("utf-8", "replace").strip().splitlines()
            raise TargetError(f"a worker failed: {message[-1] if message else proc.returncode}")
        summaries.append(json.loads(out))
    merged = _merge(summaries, [p.name for p in props])
    if args.junit:
        _merge_junit([args.out / f"worker-{i}" / "junit.xml" for i in range(count)], args.junit)
    if args.json:
        print(json.dumps(merged, indent=1))
    elif not args.quiet or merged["failures"]:
        print(_text(merged))
    return 1 if merged["failures"] else 0


def _merge(summaries: list[dict[str, Any]], order: list[str]) -> dict[str, Any]:
    first = summaries[0]
    properties: dict[str, str] = {}
    for s in summaries:
        properties.update(s["properties"])
    return {
        "target": first["target"],
        "transport": first["transport"],
        "codec": first["codec"],
        "backend": first["backend"],
        "seed": first["seed"],
        "examples": sum(s["examples"] for s in summaries),
        "elapsed_s": max(s["elapsed_s"] for s in summaries),
        "properties": {name: properties[name] for name in order if name in properties},
        "failures": [f for s in summaries for f in s["failures"]],
        "workers": len(summaries),
    }


def _text(merged: dict[str, Any]) -> str:
    lines = [
        f"{'FAIL' if st == 'failed' else st[:4]:<4} {name}"
        for name, st in merged["properties"].items()
    ]
    for f in merged["failures"]:
        lines += [
            "",
            f"{f['property']}: {f['message']}",
            f"  reproduce: wirefault replay {f['replay']}",
        ]
    lines.append(
        f"\n{merged['examples']} examples in {merged['elapsed_s']:.1f}s "
        f"over {merged['workers']} workers"
    )
    return "\n".join(lines)


def _merge_junit(parts: list[Path], path: Path) -> None:
    """Merge the workers' JUnit files into one testsuite."""
    merged: ET.Element | None = None
    for part in parts:
        suite = ET.parse(part).getroot()  # noqa: S314 - our own workers' files, just written
        if merged is None:
            merged = suite
            continue
        for key in ("tests", "failures", "errors", "skipped"):
            merged.set(key, str(int(merged.get(key, "0")) + int(suite.get(key, "0"))))
        merged.set(
            "time", f"{max(float(merged.get('time', '0')), float(suite.get('time', '0'))):.3f}"
        )
        merged.extend(list(suite))
    if merged is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(merged).write(path, encoding="utf-8", xml_declaration=True)
