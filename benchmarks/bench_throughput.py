"""Benchmark scenario throughput against the reference ``lenprefix`` server, side by side.

::

    client ──> [ nothing | embedded proxy | Toxiproxy ] ──> lenprefix server (own process)

One fault-free scenario: connect, send one frame (``--payload`` bytes) in three
writes, read the reply frame, close. Scenarios per second for

* ``bare socket``: a plain loop doing the same work, the ceiling;
* ``runner, direct``: wirefault's :class:`~wirefault.runner.Runner`, a Scenario and a
  Runner built per example as a campaign builds them, ``Runner.play``;
* ``runner → embedded proxy``: the same, the runner pointed at ``proxy.listen``;
* ``runner → embedded proxy, latency=0 toxic per scenario``: the scenario carries
  the toxic, so the runner adds it before and clears it after (what a campaign does
  with a fault backend);
* the same two through Toxiproxy (skipped with a note when it is not installed),
  and a third: a fresh Toxiproxy proxy opened and closed around each scenario (what
  a campaign does with Toxiproxy, against a Toxiproxy 2.12 panic);

each run in ``--rounds`` bursts of ``--seconds``/``--rounds`` seconds, every path in
turn (the order rotating), and reported as the median of the bursts' rates. Then a
whole Hypothesis campaign (the ``reassembly`` property, ``--examples`` examples) is
run ``--campaigns`` times, interleaved with the bursts: examples per second, with a
breakdown of where its time goes. Prints Markdown. A script, not a test::

    python benchmarks/bench_throughput.py            # about 2 minutes
    python benchmarks/bench_throughput.py --quick    # about 30 s
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from _common import connect, header, median, progress, recv_exactly, serve, table, three_chunks

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig
from wirefault.codecs import LenPrefixCodec
from wirefault.faults import open_fault_layer
from wirefault.faults.base import FaultLayer
from wirefault.faults.toxics import Latency
from wirefault.faults.toxiproxy_server import find_server_binary
from wirefault.properties import get_property, probe_scenario
from wirefault.runner import Runner
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.transcript import Transcript

CODEC = LenPrefixCodec()

#: One scenario played once; raises SystemExit if the reply is wrong.
Play = Callable[[], None]


# -- the paths -------------------------------------------------------------------------------


def bare_socket(address: Address, payload: bytes) -> Play:
    """The ceiling: a plain socket loop doing the scenario's work."""
    frame = CODEC.encode(payload)
    chunks = three_chunks(frame)

    def play() -> None:
        with connect(address) as sock:
            for chunk in chunks:
                sock.sendall(chunk)
            reply = recv_exactly(sock, len(frame))
        if reply != frame:
            raise SystemExit("bare socket: wrong reply")

    return play


def scenario_for(payload: bytes, toxic: bool) -> Scenario:
    """The scenario: one frame in three writes on c0, expect its reply, close."""
    chunks = three_chunks(CODEC.encode(payload))
    steps = (Send(conn=0, chunks=chunks), Expect(conn=0, count=1), Close(conn=0))
    return Scenario(steps=steps, toxics=(Latency(latency=0),) if toxic else ())


def _check(transcript: Transcript, payload: bytes, path: str) -> None:
    if transcript.conn(0).frames != [payload]:
        raise SystemExit(f"{path}: wrong reply: {transcript.conn(0).frames!r:.200}")


def fresh_proxy_path(address: Address, payload: bytes, layer: FaultLayer) -> Play:
    """A proxy opened and closed around each scenario (a campaign's way with Toxiproxy)."""

    def play() -> None:
        proxy = layer.open_proxy(address)
        try:
            runner = Runner(address, CODEC, proxy=proxy)
            _check(runner.play(scenario_for(payload, True)), payload, "runner")
        finally:
            proxy.close()

    return play


def runner_path(address: Address, payload: bytes, layer: FaultLayer | None, toxic: bool) -> Play:
    """Runner.play of a scenario built per example; through ``layer`` when given."""
    proxy = layer.open_proxy(address) if layer is not None else None
    target = proxy.listen if proxy is not None and not toxic else address

    def play() -> None:
        scenario = scenario_for(payload, toxic)
        runner = Runner(target, CODEC, proxy=proxy if toxic else None)
        _check(runner.play(scenario), payload, "runner")

    return play


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class PathRates:
    """A path's scenarios per second, one value per burst."""

    name: str
    play: Play
    rates: list[float] = field(default_factory=list)
    #: CPU µs per scenario of this process (the client, and the embedded proxy's thread).
    cpu_us: list[float] = field(default_factory=list)

    def burst(self, seconds: float) -> None:
        """Play scenarios for ``seconds``; record the rate and this process's CPU time."""
        count = 0
        cpu = time.process_time()
        began = time.perf_counter()
        end = began + seconds
        while (now := time.perf_counter()) < end:
            self.play()
            count += 1
        self.rates.append(count / (now - began))
        self.cpu_us.append((time.process_time() - cpu) / count * 1e6)


@dataclass
class CampaignRun:
    """One campaign: examples, wall time, and where the time went."""

    examples: int
    elapsed: float
    play_examples: float
    play_probes: float
    pauses: float

    @property
    def rate(self) -> float:
        """Examples per second."""
        return self.examples / self.elapsed


class _TimedCampaign(Campaign):
    """A campaign that adds up the time spent playing examples and probes."""

    def __init__(self, config: CampaignConfig) -> None:
        super().__init__(config)
        self.probe = probe_scenario(CODEC.probe())
        self.play_examples = 0.0
        self.play_probes = 0.0
        self.pauses = 0.0

    def play(self, scenario: Scenario) -> Transcript:
        began = time.perf_counter()
        transcript = super().play(scenario)
        spent = time.perf_counter() - began
        if scenario == self.probe:
            self.play_probes += spent
        else:
            self.play_examples += spent
            self.pauses += sum(_cut_wait(e.detail) for e in transcript.events if e.what == "send")
        return transcript


def _cut_wait(detail: str) -> float:
    """Seconds a send waited at its cut (``cut read after 0.12ms``: the server's read, or a
    drawn pause when the server cannot be seen), from the send event's detail."""
    match = re.search(r"after ([0-9.]+)ms", detail)
    return float(match.group(1)) / 1000 if match else 0.0


def run_campaign(address: Address, examples: int, seed: int) -> CampaignRun:
    """The reassembly property, ``examples`` examples, no fault layer, no database."""
    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as out:
        config = CampaignConfig(
            address=address,
            codec=CODEC,
            properties=(get_property("reassembly"),),
            profile="ci",
            max_examples=examples,
            seed=seed,
            out_dir=Path(out),
        )
        campaign = _TimedCampaign(config)
        result = campaign.run()
    if result.failures:
        raise SystemExit(f"the reference server failed reassembly: {result.failures[0].message}")
    return CampaignRun(
        result.examples,
        result.elapsed,
        campaign.play_examples,
        campaign.play_probes,
        campaign.pauses,
    )


@contextlib.contextmanager
def toxiproxy_layer() -> Iterator[FaultLayer | None]:
    """Toxiproxy when it can be had, else None (with a note on stderr)."""
    if find_server_binary() is None:
        progress("toxiproxy-server not found: skipping the Toxiproxy paths")
        yield None
        return
    with open_fault_layer("toxiproxy") as layer:
        yield layer


def measure(args: argparse.Namespace) -> tuple[list[PathRates], list[CampaignRun], bool]:
    """Every path in interleaved bursts, campaigns in between; returns the numbers."""
    payload = (bytes(range(256)) * (args.payload // 256 + 1))[: args.payload]
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(serve("lenprefix")).address
        embedded = stack.enter_context(open_fault_layer("embedded"))
        toxiproxy = stack.enter_context(toxiproxy_layer())
        paths = [PathRates("(a) bare socket", bare_socket(address, payload))]
        routes = [("(b) runner, direct", None, False)]
        routes += [("(c) runner → embedded proxy", embedded, False)]
        routes += [("(c') runner → embedded proxy, latency=0 toxic per scenario", embedded, True)]
        if toxiproxy is not None:
            routes += [("(d) runner → Toxiproxy", toxiproxy, False)]
            routes += [("(d') runner → Toxiproxy, latency=0 toxic per scenario", toxiproxy, True)]
        for name, layer, toxic in routes:
            paths.append(PathRates(name, runner_path(address, payload, layer, toxic)))
        if toxiproxy is not None:
            name = "(d'') runner → a fresh Toxiproxy proxy per scenario, latency=0 toxic"
            paths.append(PathRates(name, fresh_proxy_path(address, payload, toxiproxy)))
        for path in paths:  # warm-up: connections, imports, the proxies' first accepts
            for _ in range(20):
                path.play()
        campaigns: list[CampaignRun] = []
        seeds = itertools.count()
        for burst in range(args.rounds):
            progress(f"round {burst + 1}/{args.rounds} ...")
            for i in range(len(paths)):
                paths[(burst + i) % len(paths)].burst(args.seconds / args.rounds)
            if burst < args.campaigns:
                campaigns.append(run_campaign(address, args.examples, next(seeds)))
    return paths, campaigns, toxiproxy is not None


def report(paths: list[PathRates], campaigns: list[CampaignRun], args: argparse.Namespace) -> str:
    """The Markdown tables."""
    ceiling = median(paths[0].rates)
    rows = [
        (
            p.name,
            f"{median(p.rates):.0f}",
            f"{min(p.rates):.0f}-{max(p.rates):.0f}",
            f"{median(p.rates) / ceiling:.0%}",
            f"{1e6 / median(p.rates):.0f}",
            f"{median(p.cpu_us):.0f}",
        )
        for p in paths
    ]
    out = [
        f"Scenario: one {args.payload}-byte frame in 3 writes, read the reply, close; "
        f"{args.rounds} interleaved bursts of {args.seconds / args.rounds:g} s per path.\n",
        table(
            (
                "path",
                "scenarios/s (median)",
                "range",
                "of bare",
                "µs/scenario",
                "client CPU µs/scenario",
            ),
            rows,
        ),
    ]
    if campaigns:
        mid = sorted(campaigns, key=lambda c: c.rate)[len(campaigns) // 2]
        per = 1000 / mid.examples
        other = mid.elapsed - mid.play_examples - mid.play_probes
        out += [
            f"\nCampaign: `reassembly`, {args.examples} examples, ci profile, no fault layer, "
            f"{len(campaigns)} runs (seeds 0-{len(campaigns) - 1}); "
            f"examples/s: {', '.join(f'{c.rate:.1f}' for c in campaigns)}.\n",
            "Breakdown of the median run, ms per example:\n",
            table(
                ("part", "ms/example", "share"),
                [
                    (
                        "playing the example (2 connections)",
                        f"{mid.play_examples * per:.2f}",
                        f"{mid.play_examples / mid.elapsed:.0%}",
                    ),
                    (
                        "… of which waiting at cuts (for the server's reads)",
                        f"{mid.pauses * per:.2f}",
                        f"{mid.pauses / mid.elapsed:.0%}",
                    ),
                    (
                        "liveness probe after the example",
                        f"{mid.play_probes * per:.2f}",
                        f"{mid.play_probes / mid.elapsed:.0%}",
                    ),
                    (
                        "generation, judging, Hypothesis engine",
                        f"{other * per:.2f}",
                        f"{other / mid.elapsed:.0%}",
                    ),
                    ("**total**", f"{mid.elapsed * per:.2f}", f"{mid.rate:.1f} examples/s"),
                ],
            ),
        ]
    return "\n".join(out)


def main() -> None:
    """Parse options, run, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (about 30 s)")
    parser.add_argument("--seconds", type=float, help="time per path (default 15, quick 3)")
    parser.add_argument("--rounds", type=int, help="bursts per path (default 10, quick 3)")
    parser.add_argument("--payload", type=int, default=64, help="frame payload bytes")
    parser.add_argument("--examples", type=int, default=200, help="campaign examples")
    parser.add_argument("--campaigns", type=int, help="campaign runs (default 3, quick 1)")
    args = parser.parse_args()
    args.seconds = args.seconds or (3.0 if args.quick else 15.0)
    args.rounds = args.rounds or (3 if args.quick else 10)
    args.campaigns = args.campaigns if args.campaigns is not None else (1 if args.quick else 3)
    paths, campaigns, had_toxiproxy = measure(args)
    print(header())
    if not had_toxiproxy:
        print("Toxiproxy paths skipped: no toxiproxy-server found.\n")
    print(report(paths, campaigns, args))


if __name__ == "__main__":
    sys.exit(main())
