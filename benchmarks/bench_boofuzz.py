"""Benchmark wirefault against boofuzz: test cases per second and per CPU-second, one server.

A bare socket loop, boofuzz and wirefault fuzz the reference ``lenprefix`` server
(a 4-byte big-endian length, then the payload; one thread per client), started
once and shared, in interleaved rounds:

* ``bare socket loop`` — the ceiling: connect, send one frame, read the reply, close;
* ``boofuzz, send only`` — boofuzz 0.4's defaults for a fuzzed message: connect,
  send the mutated frame, close (it does not read a reply);
* ``boofuzz, send + read reply`` — ``receive_data_after_fuzz=True`` with
  ``recv_timeout`` equal to wirefault's deadline (1 s): connect, send, read, close —
  the same work as one wirefault connection;
* ``wirefault <property>`` — a Hypothesis campaign of that property (ci profile, no
  fault layer): per example two connections (reassembly, pipelining) or a malformed
  frame then a probe client (malformed), the judgement, and a liveness probe.

The boofuzz message: ``s_size("body", length=4, endian=">")`` (fuzzable, as by
default) over a block holding ``s_bytes(b"hello")``. Its web UI is off
(``web_port=None``), its console logger off (``fuzz_loggers=[]``: wirefault prints
nothing per example either), its SQLite case log in a temporary folder.

Each fuzzer runs in a child process of this script (``--child``), so that CPU time
is its own: "per core" is test cases per CPU-second of the fuzzer process plus the
server process (read from ``/proc``), which is what a machine's cores pay.
With ``--baseline DIR`` (an installed copy of another commit: ``git archive
<commit> | tar -x -C /tmp/src && pip install --no-deps --target /tmp/before
/tmp/src && echo <commit> > /tmp/before/LABEL``) every wirefault row is also run
with that copy's code, in the same rounds: a before/after comparison that the
machine's load cannot skew.

Prints Markdown. A script, not a test::

    python benchmarks/bench_boofuzz.py            # about 2 minutes
    python benchmarks/bench_boofuzz.py --quick
    python benchmarks/bench_boofuzz.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    baseline_env,
    checkout_label,
    header,
    median,
    process_cpu_seconds,
    progress,
    run_command,
    serve,
    table,
)

FUZZERS = (
    "bare-socket",
    "boofuzz-send",
    "boofuzz-recv",
    "wirefault-reassembly",
    "wirefault-pipelining",
    "wirefault-malformed",
)
#: Children that only draw a property's scenarios (no server, nothing played).
GENERATION = tuple(f"generation-{p}" for p in ("reassembly", "pipelining", "malformed"))
LABELS = {
    "bare-socket": "bare Python socket loop (connect, send, read reply, close)",
    "boofuzz-send": "boofuzz, send only",
    "boofuzz-recv": "boofuzz, send + read reply",
    "wirefault-reassembly": "wirefault `reassembly`",
    "wirefault-pipelining": "wirefault `pipelining`",
    "wirefault-malformed": "wirefault `malformed`",
    **{g: f"`{g.removeprefix('generation-')}`: drawing scenarios only" for g in GENERATION},
}
#: Connections each test case opens (a wirefault example: its own, plus the liveness probe).
CONNECTIONS = {
    "bare-socket": "1",
    "boofuzz-send": "1",
    "boofuzz-recv": "1",
    "wirefault-reassembly": "3",
    "wirefault-pipelining": "3",
    "wirefault-malformed": "3",
    **dict.fromkeys(GENERATION, "0"),
}
#: Where round r starts in boofuzz's case sequence: case 1 + r * BOOFUZZ_STRIDE.
BOOFUZZ_STRIDE = 5000
#: wirefault's default deadline, used as boofuzz's receive timeout.
DEADLINE = 1.0


# -- children: one fuzzer run each, printing {"cases", "wall", "cpu"} ----------------------------


def run_boofuzz(port: int, cases: int, read_reply: bool, start: int) -> dict[str, float]:
    """Fuzz cases ``start``..``start + cases - 1`` of the length-prefixed message."""
    import boofuzz

    with tempfile.TemporaryDirectory(prefix="wirefault-bench-boofuzz-") as tmp:
        os.chdir(tmp)  # anything boofuzz writes beside its database lands here too
        connection = boofuzz.TCPSocketConnection(
            "127.0.0.1", port, send_timeout=DEADLINE, recv_timeout=DEADLINE
        )
        session = boofuzz.Session(
            target=boofuzz.Target(connection=connection),
            web_port=None,
            fuzz_loggers=[],
            db_filename=str(Path(tmp) / "boofuzz.db"),
            receive_data_after_fuzz=read_reply,
            index_start=start,
            index_end=start + cases - 1,
        )
        boofuzz.s_initialize("frame")
        boofuzz.s_size("body", length=4, endian=">", fuzzable=True)
        if boofuzz.s_block_start("body"):
            boofuzz.s_bytes(b"hello", name="payload")
        boofuzz.s_block_end("body")
        session.connect(boofuzz.s_get("frame"))
        cpu, began = time.process_time(), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            session.fuzz()
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        done = session.num_cases_actually_fuzzed
        os.chdir("/")
    return {"cases": done, "wall": wall, "cpu": cpu}


def run_bare(port: int, cases: int) -> dict[str, float]:
    """The ceiling: a plain loop that connects, sends one frame, reads its reply, closes."""
    import socket
    import struct

    frame = struct.pack(">I", 5) + b"hello"
    cpu, began = time.process_time(), time.perf_counter()
    for _ in range(cases):
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(frame)
            reply = b""
            while len(reply) < len(frame):
                data = sock.recv(65536)
                if not data:
                    raise SystemExit("bare socket: the server closed early")
                reply += data
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {"cases": cases, "wall": wall, "cpu": cpu}


def run_wirefault(port: int, prop: str, cases: int, seed: int) -> dict[str, float]:
    """A campaign of ``prop``, ``cases`` examples, ci profile, no fault layer or database."""
    from wirefault.addresses import Address
    from wirefault.campaign import Campaign, CampaignConfig
    from wirefault.codecs import LenPrefixCodec
    from wirefault.properties import get_property

    with tempfile.TemporaryDirectory(prefix="wirefault-bench-") as out:
        config = CampaignConfig(
            address=Address("tcp", "127.0.0.1", port),
            codec=LenPrefixCodec(),
            properties=(get_property(prop),),
            profile="ci",
            max_examples=cases,
            seed=seed,
            deadline=DEADLINE,
            out_dir=Path(out),
        )
        campaign = Campaign(config)
        cpu, began = time.process_time(), time.perf_counter()
        result = campaign.run()
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    if result.failures:
        raise SystemExit(f"lenprefix failed {prop}: {result.failures[0].message}")
    return {"cases": result.examples, "wall": wall, "cpu": cpu}


def run_generation(prop: str, cases: int, seed: int) -> dict[str, float]:
    """Hypothesis drawing ``prop``'s scenarios for a test that plays nothing."""
    from hypothesis import given, settings
    from hypothesis import seed as seeded

    from wirefault.codecs import LenPrefixCodec
    from wirefault.properties import PropertyContext, get_property
    from wirefault.strategies.profiles import PROFILES, register_profiles

    register_profiles()
    drawn = 0

    @seeded(seed)
    @settings(settings.get_profile(PROFILES["ci"]), max_examples=cases, database=None)
    @given(get_property(prop).scenarios(LenPrefixCodec(), PropertyContext()))
    def test(scenario: object) -> None:
        nonlocal drawn
        drawn += 1

    cpu, began = time.process_time(), time.perf_counter()
    test()
    return {"cases": drawn, "wall": time.perf_counter() - began, "cpu": time.process_time() - cpu}


def child(args: argparse.Namespace) -> None:
    """Run one fuzzer as asked by the parent; print its numbers as JSON."""
    name, port, cases, round_ = args.child, args.port, args.cases, args.round
    if name.startswith("generation-"):
        numbers = run_generation(name.removeprefix("generation-"), cases, round_)
    elif name == "bare-socket":
        numbers = run_bare(port, cases)
    elif name.startswith("boofuzz"):
        # boofuzz's cases are one fixed sequence (29,750 for this message): each round
        # takes its cases from a different part of it, BOOFUZZ_STRIDE cases apart.
        numbers = run_boofuzz(port, cases, name == "boofuzz-recv", 1 + round_ * BOOFUZZ_STRIDE)
    else:
        numbers = run_wirefault(port, name.removeprefix("wirefault-"), cases, round_)
    print(json.dumps(numbers))


# -- the parent: rounds of every fuzzer against one server ---------------------------------------


@dataclass
class Runs:
    """One fuzzer's rounds."""

    name: str
    baseline: Path | None = None  # measure this checkout's code instead of ours
    cases: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # fuzzer + server CPU seconds
    server_cpu: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The row's name in the table."""
        if self.baseline is None:
            return LABELS[self.name]
        return f"{LABELS[self.name]} at {checkout_label(self.baseline)} (before)"

    def rate(self) -> float:
        """Median test cases per wall second."""
        return median([c / w for c, w in zip(self.cases, self.wall, strict=True)])

    def ms_per_case(self, cpu: list[float]) -> float:
        """Median CPU milliseconds per test case, from ``cpu`` (seconds per round)."""
        return median([1000 * u / c for c, u in zip(self.cases, cpu, strict=True)])

    def fuzzer_cpu(self) -> list[float]:
        """The fuzzer process's CPU seconds per round (without the server's)."""
        return [u - v for u, v in zip(self.cpu, self.server_cpu, strict=True)]

    def per_core(self) -> float:
        """Median test cases per CPU-second (fuzzer + server)."""
        return median([c / u for c, u in zip(self.cases, self.cpu, strict=True)])


def run_child(run: Runs, port: int, cases: int, round_: int, server_pid: int) -> dict[str, float]:
    """Run one fuzzer in a child process; add the server's CPU over the run."""
    name = run.name
    before = process_cpu_seconds(server_pid)
    done = run_command(
        [sys.executable, __file__, "--child", name, "--port", str(port),
         "--cases", str(cases), "--round", str(round_)],
        timeout=600,
        env=baseline_env(run.baseline) if run.baseline else None,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
    numbers: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    numbers["server_cpu"] = process_cpu_seconds(server_pid) - before
    return numbers


def measure(args: argparse.Namespace) -> list[Runs]:
    """``--rounds`` rounds, each fuzzer once per round, the order rotating."""
    runs = [Runs(name) for name in FUZZERS + GENERATION]
    if args.baseline:
        runs += [Runs(n, args.baseline) for n in FUZZERS if n.startswith("wirefault")]
    with serve("lenprefix") as served:
        for round_ in range(args.rounds):
            progress(f"round {round_ + 1}/{args.rounds} ...")
            for i in range(len(runs)):
                run = runs[(round_ + i) % len(runs)]
                ours = run.name.startswith(("wirefault", "generation"))
                cases = args.examples if ours else args.boofuzz_cases
                numbers = run_child(run, served.address.port, cases, round_, served.pid)
                run.cases.append(numbers["cases"])
                run.wall.append(numbers["wall"])
                run.cpu.append(numbers["cpu"] + numbers["server_cpu"])
                run.server_cpu.append(numbers["server_cpu"])
    return runs


def report(runs: list[Runs], args: argparse.Namespace) -> str:
    """The Markdown table, with each wirefault row's ratio to both boofuzz rows."""
    send, recv = runs[1], runs[2]
    drawing = {r.name.removeprefix("generation-"): r for r in runs if r.name in GENERATION}
    runs = [r for r in runs if r.name not in GENERATION]
    rows = []
    for run in runs:
        ratio = (
            f"{run.per_core() / send.per_core():.2f}x / {run.per_core() / recv.per_core():.2f}x"
            if run.name.startswith("wirefault")
            else "—"
        )
        rows.append(
            (
                run.label,
                f"{median(run.cases):.0f}",
                f"{run.rate():.1f}",
                f"{run.per_core():.1f}",
                f"{median([c / w for c, w in zip(run.cpu, run.wall, strict=True)]):.2f}",
                f"{run.ms_per_case(run.fuzzer_cpu()):.2f}",
                f"{run.ms_per_case(run.server_cpu):.2f}",
                CONNECTIONS[run.name],
                ratio,
            )
        )
    split = []
    for run in runs:
        prop = run.name.removeprefix("wirefault-")
        if run.baseline is None and prop in drawing:
            total = run.ms_per_case(run.fuzzer_cpu())
            draw = drawing[prop].ms_per_case(drawing[prop].cpu)
            split.append((f"`{prop}`", f"{total:.2f}", f"{draw:.2f}", f"{total - draw:.2f}"))
    return (
        f"{args.rounds} rounds, every fuzzer once per round (order rotating); medians.\n\n"
        + table(
            ("fuzzer", "cases/round", "cases/s (wall)", "cases per CPU-s", "cores busy",
             "fuzzer CPU ms/case", "server CPU ms/case", "connections/case",
             "per core vs boofuzz send / send+read"),
            rows,
        )
        + "\n\nWhere a wirefault example's client CPU goes (medians, ms per example): "
        "drawing the scenario (Hypothesis's engine and our strategies, measured by a "
        "campaign-less run that plays nothing), and the rest (playing its connections, the "
        "liveness probe, judging).\n\n"
        + table(("property", "client CPU", "drawing the scenario", "the rest"), split)
    )  # fmt: skip


def main() -> None:
    """Parse options; run as the parent (or as a ``--child``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and cases")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, quick 2)")
    parser.add_argument("--examples", type=int, help="wirefault examples (default 200, quick 50)")
    parser.add_argument("--boofuzz-cases", type=int, help="boofuzz cases (default 1000, quick 200)")
    parser.add_argument(
        "--baseline", type=Path, help="also run the wirefault rows with this checkout's code"
    )
    parser.add_argument("--child", choices=FUZZERS + GENERATION, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cases", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.examples = args.examples or (50 if args.quick else 200)
    args.boofuzz_cases = args.boofuzz_cases or (200 if args.quick else 1000)
    runs = measure(args)
    print(header())
    print(report(runs, args))


if __name__ == "__main__":
    main()
