"""Benchmark pacing by the server's reads: separate reads and replay agreement under CPU hogs.

Three measurements, each on an idle machine and with two CPU-burning processes
running (this machine has two CPUs), contenders interleaved:

1. **Separate reads.** A line server counts the ``recv()`` calls each line took
   and answers with that number. The runner sends one 3-byte line in two writes,
   100 trials per contender: a drawn pause of 0.05 ms, 1 ms or 2 ms between the
   writes (``RunnerOptions(pace=False)``, the old way), or pacing by the server's
   reads (the default). Reported: trials the server read as two reads.
2. **Replay agreement** for the zoo's timing-sensitive bugs (``reassembly``,
   ``large-payload``, ``half-close``): a ci-profile campaign finds and shrinks the
   failure (no hogs), then the shrunk scenario is replayed ``--replays`` times as
   ``wirefault replay`` would (full deadline, no early judgement), with the hogs.
3. **Lookup cost**: one ``sock_diag`` lookup of a server socket against one read
   of ``/proc/net/tcp``.

Prints Markdown. A script, not a test::

    python benchmarks/bench_pacing.py           # about 2 minutes
    python benchmarks/bench_pacing.py --quick
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from _common import header, median, progress, table

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig
from wirefault.codecs import get_codec
from wirefault.properties import get_property
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.sockdiag import DiagSocket, TcpWatch, watch_peer
from wirefault.target import ServerProcess

LINE = get_codec("line")
#: The zoo's timing-sensitive bugs: (server, protocol, property).
TIMING_BUGS = (
    ("buggy-recv-whole-frame", "lenprefix", "reassembly"),
    ("buggy-ignore-short-send", "lenprefix", "large-payload"),
    ("buggy-halfclose-drop", "line", "half-close"),
)
PAUSES = (0.00005, 0.001, 0.002)


# -- the read-counting server, in a thread of its own process --------------------------------------


def _count_reads(conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        reads, buffer = 0, b""
        while data := conn.recv(65536):
            reads += 1
            buffer += data
            while b"\n" in buffer:
                _, buffer = buffer.split(b"\n", 1)
                conn.sendall(b"%d\n" % reads)
                reads = 1 if buffer else 0


def serve_counter() -> None:
    """``--serve-counter``: print the port, serve until killed."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_count_reads, args=(conn,), daemon=True).start()


@contextlib.contextmanager
def counter_server() -> Iterator[Address]:
    """The read-counting server in a child process."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-counter"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        yield Address("tcp", "127.0.0.1", int(child.stdout.readline()))
    finally:
        child.kill()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


@contextlib.contextmanager
def cpu_hogs(count: int) -> Iterator[None]:
    """``count`` processes spinning on a CPU each, for the block's duration."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.3)
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)


# -- 1. separate reads -------------------------------------------------------------------------


def separate_reads(address: Address, pause: float | None, trials: int) -> int:
    """Trials in which the server read a two-write line as two reads."""
    options = RunnerOptions(deadline=5.0, pace=pause is None)
    runner = Runner(address, LINE, options=options)
    scenario = Scenario(
        steps=(
            Send(conn=0, chunks=(b"ab", b"c\n"), pause=pause or 0.0),
            Expect(conn=0, count=1),
            Close(conn=0),
        )
    )
    return sum(1 for _ in range(trials) if runner.play(scenario).conn(0).frames == [b"2"])


def measure_reads(args: argparse.Namespace) -> dict[tuple[str, bool], int]:
    """Every contender idle and with hogs, in rotating order."""
    contenders: list[float | None] = [*PAUSES, None]
    found: dict[tuple[str, bool], int] = {}
    with counter_server() as address:
        for hogs in (False, True):
            with cpu_hogs(2) if hogs else contextlib.nullcontext():
                for offset in range(len(contenders)):
                    for i in range(len(contenders)):
                        pause = contenders[(offset + i) % len(contenders)]
                        name = "read pacing" if pause is None else f"pause {pause * 1000:g} ms"
                        got = separate_reads(address, pause, args.trials // len(contenders))
                        found[(name, hogs)] = found.get((name, hogs), 0) + got
    return found


# -- 2. replay agreement -----------------------------------------------------------------------


@dataclass
class Agreement:
    """One timing-sensitive bug: its shrunk failure and how often replays reproduce it."""

    server: str
    prop: str
    found: bool
    reproduced: int = 0
    replays: int = 0
    note: str = ""


def agreement(server: str, protocol: str, prop: str, args: argparse.Namespace) -> Agreement:
    """Find and shrink ``server``'s bug, then replay the shrunk scenario under 2 hogs."""
    command = f"{sys.executable} -m wirefault serve {server} --port {{port}}"
    with (
        tempfile.TemporaryDirectory(prefix="wirefault-bench-") as out,
        ServerProcess(command, Address("tcp", "127.0.0.1", 0)) as process,
    ):
        config = CampaignConfig(
            address=process.address,
            codec=get_codec(protocol),
            properties=(get_property(prop),),
            profile="ci",
            seed=0,
            out_dir=Path(out),
            start=command,
        )
        (result,) = Campaign(config, server=process).run().results
        if result.failure is None:
            return Agreement(server, prop, False, note=result.note)
        # As `wirefault replay` plays it: the full deadline, no early judgement.
        replay = Campaign(replace(config, verify=0, early_timeouts=False), server=process)
        with cpu_hogs(2):
            failed = sum(
                1
                for _ in range(args.replays)
                if not replay.judge_once(config.properties[0], result.failure.scenario)[0].ok
            )
    return Agreement(server, prop, True, failed, args.replays)


# -- 3. lookup cost ----------------------------------------------------------------------------


def lookup_cost(rounds: int) -> tuple[float, float]:
    """Median µs of one sock_diag lookup and of one read of /proc/net/tcp."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    diag = DiagSocket.open()
    try:
        watch = watch_peer(client, diag)
        diag_us: list[float] = []
        proc_us: list[float] = []
        for _ in range(rounds):
            if isinstance(watch, TcpWatch):
                began = time.perf_counter()
                watch.peer()
                diag_us.append((time.perf_counter() - began) * 1e6)
            began = time.perf_counter()
            Path("/proc/net/tcp").read_bytes()
            proc_us.append((time.perf_counter() - began) * 1e6)
        return median(diag_us), median(proc_us)
    finally:
        if diag is not None:
            diag.close()
        for sock in (client, server, listener):
            sock.close()


def main() -> None:
    """Parse options, run, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials and replays")
    parser.add_argument("--trials", type=int, help="trials per contender (default 100)")
    parser.add_argument("--replays", type=int, help="replays per bug (default 20)")
    parser.add_argument("--serve-counter", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_counter:
        serve_counter()
        return
    args.trials = args.trials or (40 if args.quick else 100)
    args.replays = args.replays or (10 if args.quick else 20)
    progress("separate reads ...")
    reads = measure_reads(args)
    runs = []
    for server, protocol, prop in TIMING_BUGS:
        progress(f"agreement: {server} ...")
        runs.append(agreement(server, protocol, prop, args))
    progress("lookup cost ...")
    diag_us, proc_us = lookup_cost(200)
    per = args.trials // (len(PAUSES) + 1) * (len(PAUSES) + 1)
    print(header())
    print(f"**Separate reads**: a 3-byte line in two writes, {per} trials per contender "
          "(in rotating blocks); trials the server read as two reads.\n")  # fmt: skip
    names = [f"pause {p * 1000:g} ms" for p in PAUSES] + ["read pacing"]
    rows = [(n, f"{reads[(n, False)]}/{per}", f"{reads[(n, True)]}/{per}") for n in names]
    print(table(("between the writes", "idle machine", "2 CPU hogs"), rows))
    print(f"\n**Replay agreement** under 2 CPU hogs ({args.replays} replays of the shrunk "
          "failure each, full deadline, as `wirefault replay`):\n")  # fmt: skip
    rows = [
        (f"`{a.server}`", f"`{a.prop}`", f"{a.reproduced}/{a.replays}" if a.found else a.note)
        for a in runs
    ]
    print(table(("server", "property", "reproduced"), rows, align="llr"))
    print(f"\n**Lookup cost**: sock_diag {diag_us:.1f} µs, /proc/net/tcp {proc_us:.0f} µs "
          "(median of 200).")  # fmt: skip


if __name__ == "__main__":
    main()
