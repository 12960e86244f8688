"""Benchmark how scenario cost grows with payload size and with connections per scenario.

Against the reference ``lenprefix`` server (its own process), fault-free:

* payload: one frame of 16 B to 1 MiB (powers of 4) sent in three writes, its reply
  read, close;
* connections: N = 1 to 64 (powers of 2) connections opened, each sends one 64-byte
  frame, then each reads its reply, then all close;

each played by wirefault's :class:`~wirefault.runner.Runner` (Scenario and Runner
built per example, as a campaign does) and by a bare-socket loop doing the same
work (the ceiling), in ``--rounds`` interleaved bursts of ``--seconds`` per point;
medians. Prints Markdown and, unless ``--no-plots``, draws
``docs/growth-payload.png`` and ``docs/growth-connections.png`` with matplotlib
(a benchmark-only dependency: ``pip install matplotlib``)::

    python benchmarks/bench_growth.py            # about 2 minutes
    python benchmarks/bench_growth.py --quick
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    DOCS,
    connect,
    header,
    machine_line,
    median,
    progress,
    recv_exactly,
    serve,
    table,
    three_chunks,
)

from wirefault.addresses import Address
from wirefault.codecs import LenPrefixCodec
from wirefault.runner import Runner
from wirefault.scenario import Close, Expect, Scenario, Send

CODEC = LenPrefixCodec()
SIZES = [16 * 4**k for k in range(9)]  # 16 B .. 1 MiB
CONNECTIONS = [2**k for k in range(7)]  # 1 .. 64
CONN_PAYLOAD = 64

Play = Callable[[], None]


def payload_of(size: int) -> bytes:
    """``size`` bytes of a repeating 0..255 pattern."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


# -- the two ways of doing the work ------------------------------------------------------------


def bare(address: Address, size: int, conns: int) -> Play:
    """A plain socket loop: ``conns`` connections, each one ``size``-byte frame."""
    frame = CODEC.encode(payload_of(size))
    chunks = three_chunks(frame)

    def play() -> None:
        socks = [connect(address) for _ in range(conns)]
        try:
            for sock in socks:
                for chunk in chunks:
                    sock.sendall(chunk)
            for sock in socks:
                if recv_exactly(sock, len(frame)) != frame:
                    raise SystemExit("bare socket: wrong reply")
        finally:
            for sock in socks:
                sock.close()

    return play


def runner(address: Address, size: int, conns: int) -> Play:
    """Runner.play of the same work, a Scenario and Runner built per example."""
    payload = payload_of(size)
    chunks = three_chunks(CODEC.encode(payload))

    def play() -> None:
        steps = (
            *(Send(conn=c, chunks=chunks) for c in range(conns)),
            *(Expect(conn=c, count=1) for c in range(conns)),
            *(Close(conn=c) for c in range(conns)),
        )
        transcript = Runner(address, CODEC).play(Scenario(steps=steps))
        for c in range(conns):
            if transcript.conn(c).frames != [payload]:
                raise SystemExit(f"runner: wrong reply on c{c} ({size} B x {conns})")

    return play


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Point:
    """One (size, connections) point played one way: a rate per burst."""

    size: int
    conns: int
    how: str
    play: Play
    rates: list[float] = field(default_factory=list)

    def burst(self, seconds: float) -> None:
        """Play for ``seconds`` (at least 3 scenarios); record scenarios per second."""
        count = 0
        began = time.perf_counter()
        while (now := time.perf_counter()) < began + seconds or count < 3:
            self.play()
            count += 1
        self.rates.append(count / (now - began))

    @property
    def rate(self) -> float:
        """Median scenarios per second."""
        return median(self.rates)


def measure(args: argparse.Namespace) -> tuple[list[Point], list[Point]]:
    """Both series, every point played both ways, in interleaved rounds."""
    with serve("lenprefix") as served:
        address = served.address
        by_size = [
            Point(size, 1, how, make(address, size, 1))
            for size in SIZES
            for how, make in (("bare socket", bare), ("runner", runner))
        ]
        by_conns = [
            Point(CONN_PAYLOAD, n, how, make(address, CONN_PAYLOAD, n))
            for n in CONNECTIONS
            for how, make in (("bare socket", bare), ("runner", runner))
        ]
        points = by_size + by_conns
        for point in points:  # warm-up
            point.play()
        for round_ in range(args.rounds):
            progress(f"round {round_ + 1}/{args.rounds} ...")
            order = points if round_ % 2 == 0 else points[::-1]
            for point in order:
                point.burst(args.seconds)
    return by_size, by_conns


def _size(n: int) -> str:
    return f"{n // 1048576} MiB" if n >= 1048576 else f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def report(by_size: list[Point], by_conns: list[Point]) -> str:
    """Two Markdown tables: runner and bare side by side per point."""
    size_rows = []
    for bare_point, run in zip(by_size[0::2], by_size[1::2], strict=True):
        size_rows.append(
            (
                _size(run.size),
                f"{bare_point.rate:.0f}",
                f"{run.rate:.0f}",
                f"{run.rate / bare_point.rate:.0%}",
                f"{1e6 / run.rate:.0f}",
                f"{run.size * run.rate / 1e6:.3g}",
            )
        )
    conn_rows = []
    for bare_point, run in zip(by_conns[0::2], by_conns[1::2], strict=True):
        conn_rows.append(
            (
                str(run.conns),
                f"{bare_point.rate:.1f}",
                f"{run.rate:.1f}",
                f"{run.rate / bare_point.rate:.0%}",
                f"{run.conns * run.rate:.0f}",
                f"{1e6 / run.rate / run.conns:.0f}",
            )
        )
    return "\n".join(
        [
            "Payload size (one connection, one frame in 3 writes):\n",
            table(
                ("payload", "bare scenarios/s", "runner scenarios/s", "runner of bare",
                 "runner µs/scenario", "runner payload MB/s (one way)"),
                size_rows,
            ),
            f"\nConnections per scenario (each sends one {CONN_PAYLOAD}-byte frame, then each "
            "reads its reply):\n",
            table(
                ("connections", "bare scenarios/s", "runner scenarios/s", "runner of bare",
                 "runner connections/s", "runner µs per connection"),
                conn_rows,
            ),
        ]
    )  # fmt: skip


# -- plots -------------------------------------------------------------------------------------


def plot(points: list[Point], *, x: str, path: Path, title: str) -> None:
    """Scenarios/s and the matching throughput (MB/s or connections/s) against ``x``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    styles = {"bare socket": ("tab:gray", "s", "--"), "runner": ("tab:blue", "o", "-")}
    for how, (colour, marker, line) in styles.items():
        series = [p for p in points if p.how == how]
        xs = [p.size if x == "size" else p.conns for p in series]
        rates = [p.rate for p in series]
        work = [p.size * p.rate / 1e6 if x == "size" else p.conns * p.rate for p in series]
        label = "wirefault Runner" if how == "runner" else "bare socket loop (ceiling)"
        left.plot(xs, rates, color=colour, marker=marker, linestyle=line, label=label)
        right.plot(xs, work, color=colour, marker=marker, linestyle=line, label=label)
    xlabel = "payload per frame (bytes)" if x == "size" else "connections per scenario"
    for ax in (left, right):
        ax.set_xscale("log", base=4 if x == "size" else 2)
    left.set_yscale("log")
    if x == "size":
        right.set_yscale("log")
    else:
        right.set_ylim(bottom=0)  # a flat line here means cost grows linearly with N
    for ax in (left, right):
        ax.set_xlabel(xlabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    if x == "size":
        ticks = SIZES
        for ax in (left, right):
            ax.set_xticks(ticks, [_size(t).replace(" ", "\u202f") for t in ticks], rotation=30)
    else:
        for ax in (left, right):
            ax.set_xticks(CONNECTIONS, [str(n) for n in CONNECTIONS])
    left.set_ylabel("scenarios per second")
    right.set_ylabel("payload MB/s, one way" if x == "size" else "connections per second")
    left.set_title("scenarios per second")
    right.set_title("payload throughput" if x == "size" else "connections per second")
    fig.suptitle(f"{title}\n{machine_line()}", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    progress(f"wrote {path}")


def main() -> None:
    """Parse options, run, print the tables, draw the plots."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter bursts, fewer rounds")
    parser.add_argument("--seconds", type=float, help="seconds per point per round (1, quick 0.3)")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, quick 2)")
    parser.add_argument("--no-plots", action="store_true", help="do not write the PNGs")
    parser.add_argument("--plots", type=Path, default=DOCS, help="folder for the PNGs")
    args = parser.parse_args()
    args.seconds = args.seconds or (0.3 if args.quick else 1.0)
    args.rounds = args.rounds or (2 if args.quick else 5)
    by_size, by_conns = measure(args)
    print(header())
    print(f"{args.rounds} interleaved rounds of {args.seconds:g} s per point; medians.\n")
    print(report(by_size, by_conns))
    if args.no_plots:
        return
    try:
        import matplotlib  # noqa: F401 - only to know whether plots can be drawn
    except ImportError:
        progress("matplotlib is not installed: no plots (pip install matplotlib)")
        return
    title = "Scenario throughput against the lenprefix server, by payload size"
    plot(by_size, x="size", path=args.plots / "growth-payload.png", title=title)
    title = "Scenario throughput against the lenprefix server, by connections per scenario"
    plot(by_conns, x="conns", path=args.plots / "growth-connections.png", title=title)


if __name__ == "__main__":
    main()
