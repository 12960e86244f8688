"""``wirefault fuzz TARGET``: run the properties against a server and report what fails."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from harness.addresses import Address, parse_address
from harness.cli._options import (
    BACKENDS,
    add_codec_options,
    codec_options,
    parse_escaped,
    positive_float,
    positive_int,
)
from harness.codecs import codec_names, get_codec
from harness.codecs.base import Codec
from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.campaign import CampaignResult
    from harness.faults.base import FaultLayer

# The engine (Hypothesis, the fault layer, rich) is imported inside run(), so that
# `wirefault serve` and `--help` start fast.
_PROPERTY_NAMES = (
    "reassembly, pipelining, malformed, liveness, stall-isolation, reset, half-close, "
    "large-payload, echo, datagram-reply, datagram-sizes, datagram-faults"
)

__all__ = ["add_parser", "run"]

EPILOG = """\
exit status: 0 no failure, 1 failures found, 2 usage or setup error, 3 internal error.
examples:
  wirefault fuzz 127.0.0.1:6379 --codec resp
  wirefault fuzz tcp://127.0.0.1:0 --codec lenprefix \
      --start 'wirefault serve lenprefix --port {port}'
  wirefault fuzz udp://127.0.0.1:5353 --oracle echo --json
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault fuzz``."""
    p = subparsers.add_parser(
        "fuzz",
        help="fuzz a server with generated scenarios and faults",
        description="Run wirefault's generic properties against the server at TARGET. "
        "Failures shrink to a minimal scenario saved as a replay file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        metavar="TARGET",
        help="HOST:PORT or tcp://HOST:PORT, udp://HOST:PORT, unix:///PATH ([::1]:PORT for IPv6)",
    )
    p.add_argument(
        "--codec", choices=codec_names(), help="framing (default raw for TCP, datagram for UDP)"
    )
    add_codec_options(p)
    p.add_argument(
        "--greeting", action="store_true", help="the server speaks first (SMTP/FTP style)"
    )
    p.add_argument("--probe", metavar="TEXT", help="liveness probe request, with \\r\\n escapes")
    p.add_argument("--oracle", action="append", default=[], choices=["echo"], help="add an oracle")
    p.add_argument(
        "--properties",
        metavar="A,B",
        help=f"properties to run (default: all that apply): {_PROPERTY_NAMES}",
    )
    p.add_argument(
        "--start", metavar="CMD", help="shell command starting the server; {port} is replaced"
    )
    p.add_argument("--max-examples", type=positive_int, help="examples per property")
    p.add_argument(
        "--time-budget", type=positive_float, metavar="SECONDS", help="stop generating after this"
    )
    p.add_argument("--seed", type=int, help="seed Hypothesis for a reproducible run")
    p.add_argument(
        "--deadline",
        type=positive_float,
        default=1.0,
        metavar="SECONDS",
        help="seconds without progress that count as a hang (default 1)",
    )
    p.add_argument(
        "--shrink-budget",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="time allowed to shrink each failure (default 30)",
    )
    p.add_argument("--workers", type=positive_int, default=1, help="parallel workers (default 1)")
    p.add_argument(
        "--backend", choices=BACKENDS, default="auto", help="fault backend (default auto)"
    )
    p.add_argument(
        "--profile", choices=("ci", "dev", "thorough"), default="dev", help="Hypothesis profile"
    )
    p.add_argument("--out", type=Path, default=Path("wirefault-out"), help="where replay files go")
    p.add_argument("--json", action="store_true", help="print the JSON summary on stdout")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    p.add_argument("-v", "--verbose", action="store_true", help="say more")
    p.set_defaults(func=run)


def _codec(args: argparse.Namespace, address: Address) -> Codec:
    name = args.codec or ("datagram" if address.transport == "udp" else "raw")
    return get_codec(name, **codec_options(args, name))


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault fuzz``."""
    from harness.campaign import Campaign, CampaignConfig
    from harness.cli._progress import progress_display
    from harness.cli._workers import run_workers
    from harness.database import example_database
    from harness.properties import select_properties
    from harness.target import ServerProcess

    address = parse_address(args.target, allow_zero=True)
    if address.transport != "unix" and address.port == 0 and not args.start:
        raise UsageError("port 0 needs --start CMD (wirefault then picks a free port for {port})")
    codec = _codec(args, address)
    names = (
        [n.strip() for n in args.properties.split(",") if n.strip()] if args.properties else None
    )
    props = select_properties(codec, names, oracles=args.oracle)
    if args.workers > 1:
        return run_workers(args, props)
    with ExitStack() as stack:
        server: ServerProcess | None = None
        if args.start:
            server = stack.enter_context(ServerProcess(args.start, address))
            address = server.address
        layer = _fault_layer(stack, args.backend, address)
        fuzzed = _front(stack, layer, address)
        config = CampaignConfig(
            address=fuzzed,
            codec=codec,
            properties=tuple(props),
            profile=args.profile,
            max_examples=args.max_examples,
            time_budget=args.time_budget,
            seed=args.seed,
            deadline=args.deadline,
            out_dir=args.out,
            label=args.target if not args.start else args.start,
            greeting=args.greeting,
            probe=parse_escaped(args.probe) if args.probe else None,
            start=args.start,
            backend=layer.backend if layer else None,
            shrink_budget=args.shrink_budget,
        )
        database = example_database(args.out)
        progress = stack.enter_context(progress_display(enabled=_interactive(args)))
        campaign = Campaign(
            config, server=server, fault_layer=layer, database=database, progress=progress
        )
        campaign.check_reachable()
        result = campaign.run()
    return _report(args, result, codec, address, layer)


def _fault_layer(stack: ExitStack, backend: str, address: Address) -> FaultLayer | None:
    from harness.faults import open_fault_layer

    if backend == "none" and address.transport != "unix":
        return None
    if address.transport == "unix":
        # Only the embedded proxy can front an AF_UNIX server with a TCP address.
        if backend == "toxiproxy":
            raise UsageError(
                "unix:// targets need --backend embedded (Toxiproxy cannot dial unix sockets)"
            )
        backend = "embedded"
    transport = "udp" if address.transport == "udp" else "tcp"
    return stack.enter_context(open_fault_layer(backend, transport=transport))


def _front(stack: ExitStack, layer: FaultLayer | None, address: Address) -> Address:
    """The address clients use: a loopback TCP front for unix targets, else the target."""
    if address.transport != "unix":
        return address
    assert layer is not None
    proxy = layer.open_proxy(address)
    stack.callback(proxy.close)
    return proxy.listen


def _interactive(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() and not args.json and not args.quiet


def _report(
    args: argparse.Namespace,
    result: CampaignResult,
    codec: Codec,
    address: Address,
    layer: FaultLayer | None,
) -> int:
    from harness.report.junit import write_junit
    from harness.report.summary import summary_json, summary_text

    summary = summary_json(
        result,
        target=args.target,
        transport=address.transport,
        codec=codec.name,
        backend=layer.backend if layer else "none",
        seed=args.seed,
    )
    if args.junit:
        write_junit(result, args.junit, suite=f"wirefault {args.target}")
    if args.json:
        print(json.dumps(summary, indent=1))
    elif not args.quiet or result.failures:
        print(summary_text(result, verbose=args.verbose))
    return 1 if result.failures else 0
