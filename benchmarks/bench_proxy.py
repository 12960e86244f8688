"""Benchmark the fault proxies: bulk throughput and added round-trip time, side by side.

::

    client ──> [ nothing | embedded proxy | Toxiproxy ] ──> echo server (own process)

For each path it measures

* bulk throughput: ``--size`` MiB written by one thread and read back by
  another through the echo server (so every byte crosses the proxy twice);
  reported as MB/s (10^6 bytes per second) of payload;
* round-trip time: 1-byte ping-pong with TCP_NODELAY for ``--seconds`` per
  path (in bursts, every path in turn), reported as median and p99 in µs, and
  the median added to the direct path's.

Each proxy is measured bare and with a ``latency=0`` toxic (data then goes
through the toxic chain: the embedded proxy skips it when no toxic is set).
The embedded proxy is also measured in its own process (``wirefault proxy
--backend embedded``), like Toxiproxy, besides in this process (how wirefault's
runner uses it, sharing the GIL with the client). Prints a Markdown table. A script, not a test::

    python benchmarks/bench_proxy.py --seconds 5 --size 64
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from wirefault.addresses import Address
from wirefault.faults.base import FaultLayer
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import Latency
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer
from wirefault.faults.toxiproxy_server import find_server_binary

CHUNK = 256 * 1024
WARMUP_ROUNDS = 200
BURSTS = 10


# -- the echo server, run as ``bench_proxy.py --serve-echo`` in its own process -----------


def serve_echo() -> None:
    """Echo every connection (one thread each); print the port; run until stdin closes."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    print(listener.getsockname()[1], flush=True)

    def echo(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        with conn:
            while n := conn.recv_into(buffer):
                conn.sendall(view[:n])

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # the benchmark closes our stdin to stop us


@contextlib.contextmanager
def echo_process() -> Iterator[Address]:
    """Run the echo server in a child process; yield its address."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-echo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield Address("tcp", "127.0.0.1", int(child.stdout.readline()))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


@contextlib.contextmanager
def proxy_process(upstream: Address) -> Iterator[Address]:
    """Run ``wirefault proxy --backend embedded`` in a child process; yield its listen address."""
    child = subprocess.Popen(
        [sys.executable, "-m", "wirefault", "proxy", "--backend", "embedded",
         "--upstream", upstream.hostport],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        match = re.match(r"listening on (.+):(\d+) ", child.stdout.readline())
        if not match:
            raise SystemExit("wirefault proxy did not print its listening line")
        yield Address("tcp", match.group(1), int(match.group(2)))
    finally:
        child.terminate()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


# -- measurements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One path's numbers."""

    path: str
    mb_per_s: float
    rtt_median_us: float
    rtt_p99_us: float
    rounds: int


def connect(address: Address) -> socket.socket:
    """A client socket with TCP_NODELAY."""
    sock = socket.create_connection((address.host, address.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def bulk(address: Address, size: int) -> float:
    """MB/s of ``size`` bytes echoed through ``address``."""
    block = os.urandom(CHUNK)
    with connect(address) as sock:

        def send() -> None:
            left = size
            while left > 0:
                left -= sock.send(block[: min(left, CHUNK)])

        buffer = bytearray(CHUNK)
        start = time.perf_counter()
        sender = threading.Thread(target=send)
        sender.start()
        received = 0
        while received < size:
            n = sock.recv_into(buffer)
            if not n:
                raise SystemExit(f"connection closed after {received} of {size} bytes")
            received += n
        elapsed = time.perf_counter() - start
        sender.join()
    return size / elapsed / 1e6


class PingPong:
    """A connection for 1-byte ping-pong, warmed up on creation."""

    def __init__(self, address: Address) -> None:
        self.sock = connect(address)
        self.samples: list[float] = []
        for _ in range(WARMUP_ROUNDS):
            self.sock.sendall(b"x")
            self.sock.recv(1)

    def burst(self, seconds: float) -> None:
        """Ping-pong for ``seconds``, appending round-trip times in µs."""
        sock, clock, samples = self.sock, time.perf_counter_ns, self.samples
        end = clock() + int(seconds * 1e9)
        while (t0 := clock()) < end:
            sock.sendall(b"x")
            if not sock.recv(1):
                raise SystemExit("echo closed during ping-pong")
            samples.append((clock() - t0) / 1000)

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()


def measure(paths: list[tuple[str, Address]], args: argparse.Namespace) -> list[Result]:
    """Bulk through each path in turn, then ping-pong through all, interleaved.

    The ping-pong time is cut into bursts taken round-robin (the order rotating),
    so a drift in the machine's state (CPU wake-up latency on a VM is bimodal)
    weighs on every path alike instead of on whichever ran at the time.
    """
    rates = []
    for path, address in paths:
        print(f"bulk through {path} ...", file=sys.stderr, flush=True)
        rates.append(bulk(address, args.size * 1024 * 1024))
    print("ping-pong through every path, interleaved ...", file=sys.stderr, flush=True)
    pongs = [PingPong(address) for _path, address in paths]
    try:
        for burst in range(BURSTS):
            for i in range(len(pongs)):
                pongs[(burst + i) % len(pongs)].burst(args.seconds / BURSTS)
    finally:
        for pong in pongs:
            pong.close()
    return [
        Result(
            path,
            rate,
            statistics.median(pong.samples),
            statistics.quantiles(pong.samples, n=100)[98],
            len(pong.samples),
        )
        for (path, _address), rate, pong in zip(paths, rates, pongs, strict=True)
    ]


def table(results: list[Result]) -> str:
    """The Markdown table, added RTT taken against the first (direct) row."""
    direct = results[0].rtt_median_us
    lines = [
        "| path | bulk MB/s | RTT median µs | RTT p99 µs | added RTT (median) µs | rounds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        added = "—" if r is results[0] else f"{r.rtt_median_us - direct:.0f}"
        lines.append(
            f"| {r.path} | {r.mb_per_s:.0f} | {r.rtt_median_us:.0f} | {r.rtt_p99_us:.0f} "
            f"| {added} | {r.rounds} |"
        )
    return "\n".join(lines)


def _through(layer: FaultLayer, upstream: Address, toxic: bool) -> Address:
    proxy = layer.open_proxy(upstream)
    if toxic:
        proxy.add_toxic(Latency(latency=0))
    return proxy.listen


def _toxiproxy() -> ToxiproxyFaultLayer | None:
    url = os.environ.get("TOXIPROXY_URL")
    if url:
        return ToxiproxyFaultLayer.connect(url)
    if find_server_binary():
        return ToxiproxyFaultLayer.start()
    print("toxiproxy-server not found: skipping Toxiproxy", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> list[Result]:
    """Measure every path against one echo server."""
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(echo_process())
        paths = [("direct", upstream)]
        embedded = stack.enter_context(EmbeddedFaultLayer())
        paths.append(("embedded, in-process", _through(embedded, upstream, False)))
        paths.append(("embedded, in-process, latency=0 toxic", _through(embedded, upstream, True)))
        paths.append(("embedded, own process", stack.enter_context(proxy_process(upstream))))
        toxiproxy = _toxiproxy()
        if toxiproxy is not None:
            stack.enter_context(toxiproxy)
            paths.append(("toxiproxy", _through(toxiproxy, upstream, False)))
            paths.append(("toxiproxy, latency=0 toxic", _through(toxiproxy, upstream, True)))
        return measure(paths, args)


def main() -> None:
    """Parse options, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="ping-pong time per path")
    parser.add_argument("--size", type=int, default=64, help="MiB echoed per path (bulk)")
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo()
        return
    results = run(args)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"--seconds {args.seconds:g} --size {args.size}\n")  # fmt: skip
    print(table(results))


if __name__ == "__main__":
    main()
