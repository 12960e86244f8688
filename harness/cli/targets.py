"""``wirefault targets``: list the servers ``wirefault serve`` can run."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault targets``."""
    p = subparsers.add_parser(
        "targets",
        help="list the reference and buggy servers 'wirefault serve' runs",
        description="List every target: name, protocol (the --codec to fuzz it with), "
        "transport and kind; for buggy ones also the bug and the property that catches it.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault targets``.

    Raises:
        TargetError: a target module breaks the target contract.
    """
    from wirefault.targets import all_targets

    infos = all_targets()
    if args.json:
        rows = [
            {
                "name": i.name,
                "protocol": i.protocol,
                "transport": i.transport,
                "kind": i.kind,
                "summary": i.summary,
                **({"bug": i.bug, "caught_by": i.caught_by} if i.kind == "buggy" else {}),
            }
            for i in infos
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    width = max(len(i.name) for i in infos)
    print(f"{'NAME':<{width}}  {'PROTOCOL':<9}  {'TRANSPORT':<9}  {'KIND':<9}  DESCRIPTION")
    for i in infos:
        text = f"{i.bug} (caught by {i.caught_by})" if i.kind == "buggy" else i.summary
        print(f"{i.name:<{width}}  {i.protocol:<9}  {i.transport:<9}  {i.kind:<9}  {text}")
    return 0
