"""``wirefault replay FILE...``: play saved failures again and say whether they reproduce.

A replay file stands alone: codec and options, probe, greeting, deadline, backend
and the server's start command are in it, and so is how many plays a fresh server
needed before it failed. With no option, each file's server is started afresh
from its own command and the scenario played until it reproduces, at most as
many times as the file says it takes (``Replay.default_plays``).

A file's start command runs only if the file carries this user's signature
(:mod:`wirefault.signing`): files travel, and one edited or made elsewhere must
not run code. Otherwise replay stops with one line showing the command, exit 2,
and asks for ``--start`` (or ``--target``), or ``--trust`` to run it anyway.
"""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wirefault.addresses import Address, parse_address
from wirefault.cli._options import BACKENDS, parse_escaped, positive_float, positive_int
from wirefault.errors import UsageError

if TYPE_CHECKING:
    from wirefault.cutoff import Cutoff
    from wirefault.faults.base import FaultLayer
    from wirefault.replay import Replay

__all__ = ["add_parser", "run"]

EPILOG = """\
exit status: 1 if any file's failure reproduced, 0 if none did, 2 for a bad file or
setup (nothing is played then), 130 interrupted.
Each file gets its own fresh server. Without --repeat, each is played until it
reproduces, at most as many times as the file says a fresh server needs.
A file's own start command runs only when the file is signed by this user's
wirefault (files written by `wirefault fuzz` here are); else give --start, --target
or --trust.
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault replay``."""
    p = subparsers.add_parser(
        "replay",
        help="play replay files again; exit 1 if a failure reproduces",
        description="Play the scenario saved in each replay file against the server and judge "
        "it with the same property. Exit status: 1 reproduced, 0 not reproduced, 2 bad file "
        "or setup.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "files", type=Path, nargs="+", metavar="FILE", help="replay files written by wirefault fuzz"
    )
    p.add_argument("--target", metavar="HOST:PORT", help="play against this server instead")
    p.add_argument("--start", metavar="CMD", help="start the server with this command ({port})")
    p.add_argument(
        "--trust",
        action="store_true",
        help="run a file's own start command even if the file is not signed by you",
    )
    p.add_argument("--backend", choices=BACKENDS, help="fault backend (default: the file's)")
    p.add_argument(
        "--repeat",
        type=positive_int,
        metavar="N",
        help="play N times (default: until it reproduces, as often as the file says it needs)",
    )
    p.add_argument(
        "--stop-early",
        action="store_true",
        help="with --repeat, stop at the first run that reproduces",
    )
    p.add_argument("--deadline", type=positive_float, help="override the file's deadline")
    p.add_argument(
        "--probe", metavar="TEXT", help="override the file's liveness probe (\\r\\n escapes)"
    )
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


def _check_trust(args: argparse.Namespace, path: Path, replay: Replay) -> None:
    """Refuse to run code a file names (a start command, a codec module) unless it is ours.

    Raises:
        UsageError: the file's command would run, or its codec module be imported, and
            it is neither signed nor trusted.
    """
    if args.trust or replay.trusted:
        return
    if ":" in replay.codec_name:
        # Loading a codec by reference imports its module, which runs the module's code.
        raise UsageError(
            f"{path} is not signed by your wirefault (edited, or from elsewhere), so its "
            f"codec {replay.codec_name!r} is not imported (that would run its module's "
            "code); pass --trust if you trust the file"
        )
    if args.start or args.target or not replay.start:
        return
    raise UsageError(
        f"{path} is not signed by your wirefault (edited, or from elsewhere), so its start "
        f"command is not run: {replay.start!r}; pass --start CMD or --target HOST:PORT to "
        "choose the server yourself, or --trust to run that command"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault replay``."""
    from wirefault.cli._interrupts import signals_noted
    from wirefault.cutoff import Cutoff
    from wirefault.properties import get_property
    from wirefault.replay import load_replay

    # Every file is read and checked before anything is played or started.
    replays = [(path, load_replay(path)) for path in args.files]
    for path, replay in replays:
        get_property(replay.property)
        _check_trust(args, path, replay)
        replay.codec()
    probe = parse_escaped(args.probe) if args.probe else None
    cutoff = Cutoff()
    reports = []
    with signals_noted(cutoff):
        for path, replay in replays:
            reports.append(_replay_one(args, path, replay, probe, cutoff))
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=1))
    else:
        for report in reports:
            prefix = f"{report['file']}: " if len(reports) > 1 else ""
            verb = "reproduced" if report["reproduced"] else "did not reproduce"
            print(
                f"{prefix}{report['property']}: {verb} in {report['reproduced']}/"
                f"{report['runs']} run(s) against {report['address']}"
            )
            for message in report["messages"]:
                print(f"  {message}")
            for other in report["other_failures"]:
                print(f"  not counted (another kind than the file's {report['kind']}): {other}")
            if report.get("hint"):
                print(f"  {report['hint']}")
    return 1 if any(r["reproduced"] for r in reports) else 0


def _replay_one(
    args: argparse.Namespace, path: Path, replay: Replay, probe: bytes | None, cutoff: Cutoff
) -> dict[str, Any]:
    """Play one file against its own (fresh) server; what happened, as the JSON report."""
    from wirefault.campaign import Campaign, CampaignConfig
    from wirefault.faults import open_fault_layer
    from wirefault.properties import get_property
    from wirefault.target import ServerProcess

    codec = replay.codec()
    prop = get_property(replay.property)
    address, start = _where(args, replay)
    needs_layer = replay.scenario.needs_fault_layer() or address.transport == "unix"
    runs_wanted = args.repeat if args.repeat is not None else replay.default_plays()
    stop_early = args.stop_early or args.repeat is None
    messages: list[str] = []
    others: list[str] = []
    runs = 0
    with ExitStack() as stack:
        server = None
        if start:
            server = stack.enter_context(ServerProcess(start, address, cutoff=cutoff))
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
            preamble=replay.preamble,
            greeting=replay.greeting,
            probe=probe if probe is not None else replay.probe,
            early_timeouts=False,  # a replay waits every deadline out, as it promises
        )
        campaign = Campaign(config, server=server, fault_layer=layer, cutoff=cutoff)
        campaign.check_reachable()
        for _ in range(runs_wanted):
            runs += 1
            verdict, _transcript = campaign.judge_once(prop, replay.scenario)
            if not verdict.ok and replay.kind and verdict.kind != replay.kind:
                # Another kind of failure is another failure, not this one reproduced.
                others.append(f"{verdict.kind}: {verdict.message}")
            elif not verdict.ok:
                messages.append(verdict.message)
                if stop_early:
                    break
    hint = {}
    if replay.kind == "leak" and server is None and not messages:
        hint["hint"] = (
            "a leaked socket is seen only in a server wirefault starts: give --start CMD "
            "(or let the file's own start command run)"
        )
    return {
        "file": str(path),
        "property": prop.name,
        "address": str(address),
        "runs": runs,
        "reproduced": len(messages),
        "messages": sorted(set(messages)),
        "kind": replay.kind,
        "other_failures": sorted(set(others)),
        **hint,
    }
