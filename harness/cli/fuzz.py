"""``wirefault fuzz TARGET``: run the properties against a server and report what fails."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
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
from wirefault.cutoff import Cutoff, OutOfTime, process_age
from wirefault.errors import TargetError, UsageError

if TYPE_CHECKING:
    from wirefault.campaign import Campaign, CampaignResult, Progress, ProgressHook
    from wirefault.faults.base import FaultLayer
    from wirefault.properties import Property

# The engine (Hypothesis, the fault layer; rich on a terminal) is imported only where
# a campaign runs in this process, so that `wirefault serve`, `--help` and the parent
# of `--workers N` (which starts its workers before anything else) start fast.
_PROPERTY_NAMES = (
    "reassembly, pipelining, malformed, liveness, stall-isolation, reset, half-close, "
    "large-payload, strictness, growth, echo, datagram-reply, datagram-sizes, datagram-faults"
)

__all__ = ["add_parser", "run"]

EPILOG = """\
exit status: 0 no failure, 1 failures found, 2 usage or setup error, 3 internal error,
130 interrupted (SIGINT or SIGTERM: what it started is stopped first).
--time-budget is the wall-clock ceiling of the whole command, from its launch:
it ends within the budget plus 5 % (or plus one --deadline, if larger).
examples:
  wirefault fuzz 127.0.0.1:6379 --codec resp
  wirefault fuzz tcp://127.0.0.1:0 --codec lenprefix \
      --start 'wirefault serve lenprefix --port {port}'
  wirefault fuzz udp://127.0.0.1:5353 --oracle echo --json
  wirefault fuzz 127.0.0.1:502 --codec lenfield --length-offset 4 --length-bytes 2 \
      --requests modbus.txt
  wirefault fuzz 127.0.0.1:1883 --codec lenfield --length-offset 1 --length-bytes varint \
      --preamble '\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00' --requests mqtt.pcap
  wirefault fuzz 127.0.0.1:11211 --codec mypackage.codecs:MemcacheText
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
        "--codec",
        metavar="NAME",
        help=f"framing: {', '.join(codec_names())}, a codec installed under the entry-point "
        "group wirefault.codecs, or package.module:ClassName (default raw for TCP, datagram "
        "for UDP)",
    )
    add_codec_options(p)
    p.add_argument(
        "--requests",
        type=Path,
        metavar="FILE",
        help="sample requests every property draws from: a text file (one request per line, "
        "--probe escapes, # comments) or a pcap/pcapng of a session; the first is the probe",
    )
    p.add_argument(
        "--preamble",
        metavar="TEXT|@FILE",
        help="handshake sent on every connection before anything else, its reply read "
        "(\\r\\n escapes; @FILE: one request per line); never fuzzed",
    )
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
        "--skip-rule",
        metavar="RULE[,RULE]",
        help="strictness: leave out these RFC rules (a leniency the server keeps on purpose)",
    )
    p.add_argument(
        "--rule-level",
        choices=("must", "framing", "should"),
        help="strictness: the MUST rules; those and the SHOULD rules request smuggling came "
        "from (framing, the default); or every SHOULD rule too",
    )
    p.add_argument(
        "--start", metavar="CMD", help="shell command starting the server; {port} is replaced"
    )
    p.add_argument("--max-examples", type=positive_int, help="examples per property")
    p.add_argument(
        "--time-budget",
        type=positive_float,
        metavar="SECONDS",
        help="wall-clock ceiling of the whole command (shrinking and restarts included)",
    )
    p.add_argument(
        "-x",
        "--exitfirst",
        action="store_true",
        help="stop at the first failure, once it is shrunk and saved (exit 1)",
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
    # Internal: how `--workers N` starts each worker (see harness/cli/_workers.py), with
    # the parent's clock: its launch and its budget's end, as time.monotonic() values.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--run-started", type=float, help=argparse.SUPPRESS)
    p.add_argument("--run-ends", type=float, help=argparse.SUPPRESS)
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


def _samples(args: argparse.Namespace, address: Address, codec: Codec) -> tuple[bytes, ...]:
    """The ``--requests`` samples, checked against the codec (empty without the option)."""
    if args.requests is None:
        return ()
    from wirefault.samples import load_requests

    port = address.port if address.transport != "unix" and address.port else None
    udp = address.transport == "udp"
    return load_requests(args.requests, codec, port=port, transport="udp" if udp else "tcp")


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault fuzz``."""
    # A worker's stdout carries its messages to the parent alone: stray prints go to stderr.
    channel = _channel() if args.worker else None
    cutoff = _clock(args)
    address = parse_address(args.target, allow_zero=True)
    if address.transport != "unix" and address.port == 0 and not args.start:
        raise UsageError("port 0 needs --start CMD (wirefault then picks a free port for {port})")
    codec = _codec(args, address)
    # Read and checked before anything starts: a bad file is a usage error at once.
    samples = _samples(args, address, codec)
    preamble = _preamble(args)
    if args.workers > 1 and not args.worker:
        # Before any engine import: the workers import their own, side by side.
        from wirefault.cli._interrupts import signals_noted
        from wirefault.cli._workers import run_workers

        with signals_noted(cutoff):
            return run_workers(args, cutoff)
    try:
        return _run_campaign(args, address, codec, channel, cutoff, samples, preamble)
    except OutOfTime:
        # Only setup can be cut short this way: a campaign reports what it has.
        if args.worker:
            return 0  # the budget is the parent's: it says it ran out, and what was done
        raise TargetError(
            f"the time budget ({args.time_budget:g}s) ran out before fuzzing could start "
            "(the server or the fault layer was still starting); give a larger --time-budget"
        ) from None


def _preamble(args: argparse.Namespace) -> tuple[bytes, ...]:
    if args.preamble is None:
        return ()
    from wirefault.samples import load_preamble

    return load_preamble(args.preamble)


def _clock(args: argparse.Namespace) -> Cutoff:
    """The command's cutoff: from its launch (a worker: its parent's) to the budget's end."""
    if args.run_started is not None:
        return Cutoff(args.run_ends, started=args.run_started)
    return Cutoff.after(args.time_budget, started=time.monotonic() - process_age())


def _channel() -> TextIO:
    """A worker's line to its parent (its stdout); ``sys.stdout`` and fd 1 become stderr."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return channel


def _run_campaign(
    args: argparse.Namespace,
    address: Address,
    codec: Codec,
    channel: TextIO | None,
    cutoff: Cutoff,
    samples: tuple[bytes, ...] = (),
    preamble: tuple[bytes, ...] = (),
) -> int:
    """The campaign in this process: the whole run, or, for a worker, the rounds it is sent."""
    from wirefault.campaign import Campaign, CampaignConfig
    from wirefault.cli._interrupts import signals_noted
    from wirefault.database import example_database, keep_hypothesis_files_in
    from wirefault.properties import select_properties
    from wirefault.properties.strictness import configure_strictness
    from wirefault.target import ServerProcess

    # Before Hypothesis writes anything: nothing of a run lands outside --out.
    keep_hypothesis_files_in(args.out)
    names = (
        [n.strip() for n in args.properties.split(",") if n.strip()] if args.properties else None
    )
    props = select_properties(codec, names, oracles=args.oracle)
    props = configure_strictness(props, level=args.rule_level, skip=args.skip_rule)
    with ExitStack() as stack:
        # First: a Ctrl-C or SIGTERM from here on is noted by the cutoff, and every wait
        # (a server coming up, an example, shrinking) ends at it.
        stack.enter_context(signals_noted(cutoff))
        server: ServerProcess | None = None
        if args.start:
            # Registered before it starts: a Ctrl-C or SIGTERM while it comes up (a
            # worker may be stopped at any moment) must still stop it.
            server = ServerProcess(args.start, address, cutoff=cutoff)
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
            samples=samples,
            preamble=preamble,
            exitfirst=args.exitfirst,
            # With the default backend, a Toxiproxy that stops answering gives way to the
            # embedded layer; one asked for by name stops the campaign (exit 2).
            fallback=args.backend == "auto",
        )
        display = None
        if _interactive(args):
            from wirefault.cli._progress import progress_display  # rich: only on a terminal

            display = stack.enter_context(progress_display(enabled=True))
        campaign = Campaign(
            config,
            server=server,
            fault_layer=layer,
            database=example_database(args.out),
            progress=_progress_hook(display, channel),
            cutoff=cutoff,
        )
        _check_reachable(campaign, fuzzed, address)
        if channel is not None:
            backend = layer.backend if layer else "none"
            return _work(campaign, channel, transport=address.transport, backend=backend)
        result = campaign.run()
    return _report(args, result, codec, address, layer)


def _check_reachable(campaign: Campaign, fuzzed: Address, address: Address) -> None:
    """Probe the target once; a unix target's errors name its socket, not its TCP front."""
    from wirefault.unix_socket import blame_the_socket

    try:
        campaign.check_reachable()
    except TargetError as exc:
        if fuzzed == address:
            raise
        raise blame_the_socket(exc, fuzzed, address) from None


def _progress_hook(display: ProgressHook | None, channel: TextIO | None) -> ProgressHook | None:
    """After each example: redraw the live line; a worker tells its parent of a new failure.

    The parent then hands out no more rounds of that property while this worker
    shrinks its failure.
    """
    if channel is None:
        return display
    told: set[str] = set()

    def hook(progress: Progress) -> None:
        if progress.failing and progress.property not in told:
            told.add(progress.property)
            channel.write(json.dumps({"found": progress.property}) + "\n")

    return hook


def _work(campaign: Campaign, channel: TextIO, *, transport: str, backend: str) -> int:
    """A worker: say it is ready, then play every round the parent sends until it sends none."""
    from wirefault.rounds import frozen_heap

    config = campaign.config
    by_name = {p.name: p for p in config.properties}
    ready = {
        "order": list(by_name),
        "properties": [n for n, p in by_name.items() if p.applies_to(config.codec)],
        "skipped": {
            n: "does not apply to this codec"
            for n, p in by_name.items()
            if not p.applies_to(config.codec)
        },
        "examples": campaign.examples_per_property(),
        "transport": transport,
        "codec": config.codec.name,
        "backend": backend,
    }
    channel.write(json.dumps({"ready": ready}) + "\n")
    with frozen_heap():
        return _work_rounds(campaign, channel, by_name)


def _work_rounds(campaign: Campaign, channel: TextIO, by_name: dict[str, Property]) -> int:
    """Play each round the parent sends, and say how it went, until it sends none."""
    from wirefault.cli._merge import result_to_json
    from wirefault.scenario import Scenario
    from wirefault.schedule import Round

    for line in sys.stdin:
        sent = json.loads(line)
        planned = Round(sent["property"], sent["index"], sent["examples"], sent["seed"])
        if sent.get("opening"):  # played by another worker: not again here
            campaign.learn_opening(planned.property, Scenario.from_json(sent["opening"]))
        outcome = campaign.run_round(by_name[planned.property], planned)
        opening = campaign.opening(planned.property)
        message = {
            "opening": None if opening is None else opening.to_json(),
            "property": planned.property,
            "examples": outcome.examples,
            "seconds": outcome.seconds,
            "exhausted": outcome.exhausted,
            "cut": outcome.cut,
            "result": None if outcome.result is None else result_to_json(outcome.result),
            "notes": list(outcome.notes),
        }
        channel.write(json.dumps({"outcome": message}) + "\n")
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
    from wirefault.unix_socket import check_unix_socket

    check_unix_socket(address)  # a missing or dead socket is named, not its front
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
    from wirefault.report.junit import suite_name, write_junit
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
        suite = suite_name(args.target, args.start)
        write_junit(result, args.junit, suite=suite, codec=codec.name, target=args.target)
    if args.json:
        print(json.dumps(summary, indent=1))
    elif not args.quiet or result.failures:
        print(summary_text(result, verbose=args.verbose))
    return 1 if result.failures else 0
