"""``wirefault replay FILE``: play a saved failure again and say whether it reproduces."""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from wirefault.addresses import Address, parse_address
from wirefault.cli._options import BACKENDS, positive_float, positive_int

if TYPE_CHECKING:
    from wirefault.faults.base import FaultLayer
    from wirefault.replay import Replay

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault replay``."""
    p = subparsers.add_parser(
        "replay",
        help="play a replay file again; exit 1 if the failure reproduces",
        description="Play the scenario saved in a replay file against the server and judge it "
        "with the same property. Exit status: 1 reproduced, 0 not reproduced, 2 bad file or setup.",
    )
    p.add_argument(
        "file", type=Path, metavar="FILE", help="a replay file written by wirefault fuzz"
    )
    p.add_argument("--target", metavar="HOST:PORT", help="play against this server instead")
    p.add_argument("--start", metavar="CMD", help="start the server with this command ({port})")
    p.add_argument("--backend", choices=BACKENDS, help="fault backend (default: the file's)")
    p.add_argument("--repeat", type=positive_int, default=1, metavar="N", help="play N times")
    p.add_argument(
        "--stop-early",
        action="store_true",
        help="stop at the first run that reproduces (a leak may need many runs of a fresh server)",
    )
    p.add_argument("--deadline", type=positive_float, help="override the file's deadline")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _where(args: argparse.Namespace, replay: Replay) -> tuple[Address, str | None]:
    """The server to play against and the command that starts it, if any."""
    start = args.start or (None if args.target else replay.start)
    if args.target:
        target = args.target
        if "://" not in target and replay.address.transport != "tcp":
            target = f"{replay.address.transport}://{target}"
        address = parse_address(target, allow_zero=bool(start))
    elif start:
        address = replay.address if "{port}" not in start else replay.address.with_port(0)
    else:
        address = replay.address
    return address, start


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault replay``."""
    from wirefault.campaign import Campaign, CampaignConfig
    from wirefault.faults import open_fault_layer
    from wirefault.properties import get_property
    from wirefault.replay import load_replay
    from wirefault.target import ServerProcess

    replay = load_replay(args.file)
    codec = replay.codec()
    prop = get_property(replay.property)
    address, start = _where(args, replay)
    needs_layer = replay.scenario.needs_fault_layer() or address.transport == "unix"
    with ExitStack() as stack:
        server = stack.enter_context(ServerProcess(start, address)) if start else None
        if server is not None:
            address = server.address
        layer: FaultLayer | None = None
        if needs_layer:
            backend = args.backend or replay.backend or "auto"
            transport = "udp" if address.transport == "udp" else "tcp"
            layer = stack.enter_context(open_fault_layer(backend, transport=transport))
        front = address
        if address.transport == "unix":
            assert layer is not None
            proxy = layer.open_proxy(address)
            stack.callback(proxy.close)
            front = proxy.listen
        config = CampaignConfig(
            address=front,
            codec=codec,
            properties=(prop,),
            deadline=args.deadline or replay.deadline,
            verify=0,
            start=start,
        )
        campaign = Campaign(config, server=server, fault_layer=layer)
        campaign.check_reachable()
        messages: list[str] = []
        others: list[str] = []
        runs = 0
        for _ in range(args.repeat):
            runs += 1
            verdict, _transcript = campaign.judge_once(prop, replay.scenario)
            if not verdict.ok and replay.kind and verdict.kind != replay.kind:
                # Another kind of failure is another failure, not this one reproduced.
                others.append(f"{verdict.kind}: {verdict.message}")
            elif not verdict.ok:
                messages.append(verdict.message)
                if args.stop_early:
                    break
    reproduced = len(messages)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(args.file),
                    "property": prop.name,
                    "runs": runs,
                    "reproduced": reproduced,
                    "messages": sorted(set(messages)),
                    "other_failures": sorted(set(others)),
                },
                indent=1,
            )
        )
    else:
        verb = "reproduced" if reproduced else "did not reproduce"
        print(f"{prop.name}: {verb} in {reproduced}/{runs} run(s) against {address}")
        for message in sorted(set(messages)):
            print(f"  {message}")
        for other in sorted(set(others)):
            print(f"  not counted (another kind than the file's {replay.kind}): {other}")
    return 1 if reproduced else 0
