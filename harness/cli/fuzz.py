"""``wirefault fuzz TARGET``: run the properties against a server and report what fails."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from wirefault.addresses import Address, parse_address
from wirefault.cli._options import (
    BACKENDS,
    add_codec_options,
    codec_options,
    parse_escaped,
    positive_float,
    positive_int,
)
from wirefault.codecs import codec_names, get_codec
from wirefault.codecs.base import Codec
from wirefault.errors import UsageError

if TYPE_CHECKING:
    from wirefault.campaign import Campaign, CampaignConfig, CampaignResult
    from wirefault.faults.base import FaultLayer

# The engine (Hypothesis, the fault layer; rich on a terminal) is imported only where
# a campaign runs in this process, so that `wirefault serve`, `--help` and the parent
# of `--workers N` (which starts its workers before anything else) start fast.
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
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes sharing every property's examples (default 1)",
    )
    # Internal: how `--workers N` starts each worker (see harness/cli/_workers.py).
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
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
    # A worker's stdout carries its messages to the parent alone: stray prints go to stderr.
    channel = _channel() if args.worker else None
    address = parse_address(args.target, allow_zero=True)
    if address.transport != "unix" and address.port == 0 and not args.start:
        raise UsageError("port 0 needs --start CMD (wirefault then picks a free port for {port})")
    codec = _codec(args, address)
    if args.workers > 1 and not args.worker:
        # Before any engine import: the workers import their own, side by side.
        from wirefault.cli._workers import run_workers

        return run_workers(args)
    return _run_campaign(args, address, codec, channel)


def _channel() -> TextIO:
    """A worker's line to its parent (its stdout); ``sys.stdout`` and fd 1 become stderr."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return channel


def _run_campaign(
    args: argparse.Namespace, address: Address, codec: Codec, channel: TextIO | None
) -> int:
    """The campaign in this process: the whole run, or, for a worker, the runs it is sent."""
    from wirefault.campaign import Campaign, CampaignConfig
    from wirefault.cli._interrupts import checkpoint, signals_noted
    from wirefault.database import example_database
    from wirefault.properties import select_properties
    from wirefault.target import ServerProcess

    names = (
        [n.strip() for n in args.properties.split(",") if n.strip()] if args.properties else None
    )
    props = select_properties(codec, names, oracles=args.oracle)
    with ExitStack() as stack:
        server: ServerProcess | None = None
        if args.start:
            # Registered before it starts: a Ctrl-C or SIGTERM while it comes up (a
            # worker may be stopped at any moment) must still stop it.
            server = ServerProcess(args.start, address)
            stack.callback(server.close)
            address = server.start()
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
            # With the default backend, a Toxiproxy that stops answering gives way to the
            # embedded layer; one asked for by name stops the campaign (exit 2).
            fallback=args.backend == "auto",
        )
        database = example_database(args.out)
        display = None
        if _interactive(args):
            from wirefault.cli._progress import progress_display  # rich: only on a terminal

            display = stack.enter_context(progress_display(enabled=True))
        progress = checkpoint(stack.enter_context(signals_noted()), display)

        def campaign(config: CampaignConfig) -> Campaign:
            return Campaign(
                config, server=server, fault_layer=layer, database=database, progress=progress
            )

        whole = campaign(config)
        whole.check_reachable()
        if channel is not None:
            backend = layer.backend if layer else "none"
            return _work(config, campaign, channel, transport=address.transport, backend=backend)
        result = whole.run()
    return _report(args, result, codec, address, layer)


def _work(
    config: CampaignConfig,
    campaign: Callable[[CampaignConfig], Campaign],
    channel: TextIO,
    *,
    transport: str,
    backend: str,
) -> int:
    """A worker: say it is ready, then play every run the parent sends until it sends none.

    A run is one property's campaign with the run's examples, seed and time budget.
    """
    from wirefault.cli._merge import result_to_json
    from wirefault.strategies.profiles import EXAMPLES

    by_name = {p.name: p for p in config.properties}
    total = config.max_examples if config.max_examples is not None else EXAMPLES[config.profile]
    ready = {
        "properties": list(by_name),
        "examples": total,
        "transport": transport,
        "codec": config.codec.name,
        "backend": backend,
    }
    channel.write(json.dumps({"ready": ready}) + "\n")
    for line in sys.stdin:
        run = json.loads(line)
        result = campaign(
            dataclasses.replace(
                config,
                properties=(by_name[run["property"]],),
                max_examples=run["examples"],
                seed=run["seed"],
                time_budget=run["budget"],
            )
        ).run()
        (outcome,) = result.results
        channel.write(json.dumps({"result": result_to_json(outcome), "elapsed": result.elapsed}))
        channel.write("\n")
    return 0


def _fault_layer(stack: ExitStack, backend: str, address: Address) -> FaultLayer | None:
    from wirefault.faults import open_fault_layer

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
    from wirefault.report.junit import write_junit
    from wirefault.report.summary import summary_json, summary_text

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
