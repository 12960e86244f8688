"""What the wirefault benchmarks share: the machine line, a served target, tables, CPU clocks.

Not a benchmark itself. Each ``bench_*.py`` script imports it as ``_common``
(Python puts the script's own folder first on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from wirefault.addresses import Address

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"

_LISTENING = re.compile(r"listening on (.+):(\d+)")
#: The 1-minute load average when the benchmark started: the machine is shared.
_LOAD_AT_START = os.getloadavg()[0]


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or the platform's guess)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """Date (UTC, as ``date -u`` prints it), nproc, CPU model, kernel, Python."""
    date = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    return (
        f'{date}; {os.cpu_count()} vCPUs (`nproc`), "{cpu_model()}", '
        f"Linux {platform.release()}, CPython {platform.python_version()}"
    )


def command_line() -> str:
    """How this script was run, for the report."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(REPO)
    return shlex.join(["python", str(script), *sys.argv[1:]])


def load_line() -> str:
    """The 1-minute load average when the benchmark started and now."""
    return f"{_LOAD_AT_START:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"


def header() -> str:
    """The lines every benchmark prints above its tables: command, date, machine."""
    return (
        f"```sh\n{command_line()}\n```\n\n"
        f"Run on {machine_line()}; 1-minute load average {load_line()}.\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A Markdown table; ``align`` holds one of ``l``/``r`` per column (default: l, then r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


@dataclass(frozen=True)
class Served:
    """A target served by ``python -m wirefault serve`` in its own process."""

    address: Address
    pid: int


@contextlib.contextmanager
def serve(name: str = "lenprefix") -> Iterator[Served]:
    """Run ``python -m wirefault serve NAME --port 0``; yield where it listens; stop it after."""
    child = subprocess.Popen(
        [sys.executable, "-m", "wirefault", "serve", name, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        match = _LISTENING.search(child.stdout.readline())
        if match is None:
            raise SystemExit(f"wirefault serve {name} did not print its listening line")
        yield Served(Address("tcp", match.group(1), int(match.group(2))), child.pid)
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
        if child.stdout:
            child.stdout.close()


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to the end, capturing its output, in a process group of its own.

    On timeout the whole group is killed (a ``wirefault fuzz --workers`` child has
    workers and servers of its own), then the timeout is raised.
    """
    child = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def connect(address: Address, timeout: float = 10.0) -> socket.socket:
    """A blocking client socket with TCP_NODELAY (as the runner's channels have)."""
    sock = socket.create_connection((address.host, address.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes, or exit if the peer closes first."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if not n:
            raise SystemExit(f"the server closed after {got} of {size} bytes")
        got += n
    return bytes(buffer)


def three_chunks(data: bytes) -> tuple[bytes, bytes, bytes]:
    """``data`` cut in three writes: the first two bytes, the middle, the last byte."""
    return data[:2], data[2:-1], data[-1:]


def baseline_env(checkout: Path) -> dict[str, str]:
    """The environment that makes a child import wirefault from another installed copy.

    ``PYTHONPATH`` comes before the installed (editable) wirefault on ``sys.path``,
    so a child started with it measures that copy's code: how "before" numbers are
    taken side by side with "after" ones in one run. Since ``harness/`` installs as
    the package ``wirefault``, a source checkout cannot be imported as it is: make
    the copy with ``pip install --no-deps --target DIR CHECKOUT`` (and write the
    commit into ``DIR/LABEL`` for the report).
    """
    if not (checkout / "wirefault").is_dir():
        raise SystemExit(
            f"{checkout} holds no wirefault package; install a checkout into it with "
            f"'pip install --no-deps --target {checkout} CHECKOUT'"
        )
    return {**os.environ, "PYTHONPATH": str(checkout.resolve())}


def checkout_label(checkout: Path) -> str:
    """``<short commit>`` of a git checkout, the text of ``DIR/LABEL``, or the path."""
    label = checkout / "LABEL"
    if label.is_file():
        return label.read_text().strip()
    done = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or str(checkout)


def progress(message: str) -> None:
    """A progress line on stderr (tables go to stdout)."""
    print(message, file=sys.stderr, flush=True)
