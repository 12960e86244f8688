"""Benchmark sustained throughput through a ``latency`` toxic, embedded proxy vs Toxiproxy.

::

    client ──> wirefault proxy [--toxic latency:latency=N,stream=S] ──> bulk server (own process)

A proxy that adds latency must keep bytes in flight for the whole delay, or
it throttles: with B bytes in flight at most, a stream through L ms of
latency cannot go faster than B / L. For each backend (``wirefault proxy
--backend embedded`` and ``--backend toxiproxy``, each a process of its own),
each latency (none, 20, 100, 400 ms by default) and each direction:

* **download**: the server sends ``--size`` MB (10^6 bytes) at once, through a
  ``downstream`` latency toxic; the client measures;
* **upload**: the client sends ``--size`` MB through an ``upstream`` latency
  toxic; the server measures and reports back.

The receiver times the transfer from its first read that holds payload to
the last byte, and counts the bytes after that first read: the *sustained*
rate, which leaves out the one-off latency of the first byte. Every
configuration is measured ``--rounds`` times in a rotating order (the machine is
shared and noisy); the table gives medians and each rate as a share of the same
backend's rate without a toxic. With ``--baseline DIR`` (another checkout, e.g.
``git archive main | tar -x -C /tmp/before``) the embedded proxy is also run with
that checkout's code, side by side. A script, not a test::

    python benchmarks/bench_latency.py --size 12 --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _common import connect, header, progress, table

from wirefault.addresses import Address

DEFAULT_LATENCIES = (20, 100, 400)
READ_SIZE = 256 * 1024
_LISTENING = re.compile(r"^listening on (.+):(\d+) \(backend (\w+)\)$")


# -- the bulk server, run as ``bench_latency.py --serve`` in its own process ----------------


def _sustained(sock: socket.socket, size: int, first: bytes = b"") -> float:
    """Read until ``size`` payload bytes came (``first`` already did): the sustained B/s."""
    buffer = bytearray(READ_SIZE)
    got, counted, start = len(first), 0, time.perf_counter()
    if not first:
        n = sock.recv_into(buffer)
        if not n:
            raise SystemExit("the peer closed before sending anything")
        got, start = n, time.perf_counter()
    while got < size:
        n = sock.recv_into(buffer, min(READ_SIZE, size - got))
        if not n:
            raise SystemExit(f"the peer closed after {got} of {size} bytes")
        got += n
        counted += n
    elapsed = time.perf_counter() - start
    return counted / elapsed if elapsed > 0 else float("inf")


def _serve_one(conn: socket.socket, block: bytes) -> None:
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b""
        while b"\n" not in head:
            data = conn.recv(64)
            if not data:
                return
            head += data
        line, _, rest = head.partition(b"\n")
        kind, size = line.split()
        if kind == b"D":  # download: send, then half-close and wait for the client's close
            left = int(size)
            while left > 0:
                left -= conn.send(block[: min(left, len(block))])
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
        else:  # upload: measure, then report the rate as a double
            rate = _sustained(conn, int(size), rest) if rest else _sustained(conn, int(size))
            conn.sendall(struct.pack("!d", rate))


def serve() -> None:
    """Serve bulk transfers (one thread per connection); print the port; run until stdin closes."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    print(listener.getsockname()[1], flush=True)
    block = os.urandom(READ_SIZE)

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=_serve_one, args=(conn, block), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # the benchmark closes our stdin to stop us


@contextlib.contextmanager
def bulk_server() -> Iterator[Address]:
    """Run the bulk server in a child process; yield its address."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        yield Address("tcp", "127.0.0.1", int(child.stdout.readline()))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


# -- proxies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One measured configuration: a backend (and its code), a latency and a direction."""

    backend: str
    label: str
    latency: int | None
    direction: str
    env: tuple[tuple[str, str], ...] | None = None

    @property
    def toxic(self) -> list[str]:
        """The ``--toxic`` option of ``wirefault proxy`` for this path."""
        if self.latency is None:
            return []
        stream = "downstream" if self.direction == "download" else "upstream"
        return ["--toxic", f"latency:latency={self.latency},stream={stream}"]


@contextlib.contextmanager
def proxy_process(path: Config, upstream: Address) -> Iterator[Address]:
    """Run ``wirefault proxy`` for ``path`` in a child process; yield its listen address."""
    child = subprocess.Popen(
        [sys.executable, "-m", "wirefault", "proxy", "--backend", path.backend,
         "--upstream", upstream.hostport, *path.toxic],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(path.env) if path.env else None,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        match = _LISTENING.match(child.stdout.readline().strip())
        if not match:
            raise SystemExit(f"wirefault proxy for {path} did not print its listening line")
        yield Address("tcp", match.group(1), int(match.group(2)))
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
        if child.stdout:
            child.stdout.close()


def baseline_root(checkout: Path, into: Path) -> tuple[tuple[str, str], ...]:
    """An import root where ``wirefault`` is ``checkout``'s code; the env that uses it.

    The repository maps harness/ to the package ``wirefault`` (and strategies/,
    targets/ to its subpackages) at install time; a tree of symlinks gives a
    plain checkout the same shape for ``PYTHONPATH``.
    """
    package = into / "wirefault"
    package.mkdir()
    for entry in (checkout / "harness").iterdir():
        (package / entry.name).symlink_to(entry.resolve())
    for sub in ("strategies", "targets"):
        (package / sub).symlink_to((checkout / sub).resolve())
    return tuple({**os.environ, "PYTHONPATH": str(into)}.items())


# -- measurements --------------------------------------------------------------------------


def download(address: Address, size: int) -> float:
    """Sustained MB/s of ``size`` bytes the server sends through ``address``."""
    with connect(address, timeout=60) as sock:
        sock.sendall(f"D {size}\n".encode())
        rate = _sustained(sock, size)
    return rate / 1e6


def upload(address: Address, size: int) -> float:
    """Sustained MB/s of ``size`` bytes sent to the server through ``address``."""
    block = os.urandom(READ_SIZE)
    with connect(address, timeout=60) as sock:
        sock.sendall(f"U {size}\n".encode())
        left = size
        while left > 0:
            left -= sock.send(block[: min(left, READ_SIZE)])
        answer = b""
        while len(answer) < 8:
            data = sock.recv(8 - len(answer))
            if not data:
                raise SystemExit("the server closed before reporting the upload rate")
            answer += data
    return float(struct.unpack("!d", answer)[0]) / 1e6


def measure(paths: dict[Config, Address], size: int, rounds: int) -> dict[Config, list[float]]:
    """Every path ``rounds`` times, the order rotating each round."""
    order = list(paths)
    rates: dict[Config, list[float]] = {path: [] for path in order}
    for r in range(rounds):
        progress(f"round {r + 1} of {rounds} ...")
        shift = (r * 5) % len(order)
        for path in order[shift:] + order[:shift]:
            run = download if path.direction == "download" else upload
            rates[path].append(run(paths[path], size))
    return rates


def report(rates: dict[Config, list[float]], latencies: tuple[int, ...]) -> str:
    """One table: a row per backend and direction, a column per latency (MB/s and share)."""
    rows = []
    labels = list(dict.fromkeys(p.label for p in rates))
    for label in labels:
        for direction in ("download", "upload"):
            by_latency = {
                p.latency: statistics.median(v)
                for p, v in rates.items()
                if p.label == label and p.direction == direction
            }
            bare = by_latency[None]
            cells = [f"{bare:.0f}"]
            for latency in latencies:
                rate = by_latency[latency]
                cells.append(f"{rate:.0f} ({100 * rate / bare:.0f} %)")
            rows.append([label, direction, *cells])
    headers = ["proxy", "direction", "no toxic MB/s", *(f"latency {n} ms" for n in latencies)]
    return table(headers, rows)


def run(args: argparse.Namespace) -> str:
    """Start the server and every proxy, measure, and return the report."""
    latencies = tuple(args.latency or DEFAULT_LATENCIES)
    backends: list[tuple[str, str, tuple[tuple[str, str], ...] | None]] = [
        ("embedded", "embedded", None),
        ("toxiproxy", "toxiproxy-server", None),
    ]
    with contextlib.ExitStack() as stack:
        if args.baseline:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            env = baseline_root(args.baseline, root)
            backends.insert(1, ("embedded", f"embedded ({args.baseline_label})", env))
        upstream = stack.enter_context(bulk_server())
        paths: dict[Config, Address] = {}
        for backend, label, env in backends:
            configs = [Config(backend, label, None, "both", env)]
            for latency in latencies:
                configs += [Config(backend, label, latency, d, env) for d in ("download", "upload")]
            for path in configs:
                paths[path] = stack.enter_context(proxy_process(path, upstream))
        size = int(args.size * 1e6)
        rates = measure(_expand(paths), size, args.rounds)
        return report(rates, latencies)


def _expand(paths: dict[Config, Address]) -> dict[Config, Address]:
    """The bare proxies measured in both directions (one process serves both)."""
    out: dict[Config, Address] = {}
    for path, address in paths.items():
        if path.direction == "both":
            for d in ("download", "upload"):
                out[Config(path.backend, path.label, None, d, path.env)] = address
        else:
            out[path] = address
    return out


def main() -> None:
    """Parse options, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=float, default=12.0, help="MB per transfer (default 12)")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per configuration")
    parser.add_argument(
        "--latency", type=int, action="append", help="latency in ms (repeat; default 20 100 400)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="also run the embedded proxy from this checkout"
    )
    parser.add_argument("--baseline-label", default="before", help="its name in the table")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    text = run(args)
    print(header())
    print(text)


if __name__ == "__main__":
    main()
