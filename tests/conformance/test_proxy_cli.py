"""``wirefault proxy`` driven through a subprocess (``python -m wirefault proxy``), per backend."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _conformance_support import (
    DEADLINE,
    EchoServer,
    need_toxiproxy,
    pid_alive,
    round_trip,
)

from wirefault.addresses import Address
from wirefault.cli.proxy import _Stop, _stop_signals

LISTENING = re.compile(r"^listening on (127\.0\.0\.1):(\d+) \(backend (\w+)\)$")


class ProxyCommand:
    """A running ``wirefault proxy`` subprocess."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wirefault", "proxy", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            env=env,
        )
        self._pending = b""

    def readline(self, timeout: float = 15.0) -> str:
        """The next stdout line, waiting at most ``timeout`` seconds ("" at EOF)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                if not selector.select(max(0.0, deadline - time.monotonic())):
                    pytest.fail(f"wirefault proxy printed no line in {timeout:g} s")
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def children(self) -> list[int]:
        """Pids of the processes this command started and still has."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                found.append(int(entry.name))
        return found

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``signum`` and wait: ``(exit status, stderr)``."""
        self.process.send_signal(signum)
        _out, err = self.process.communicate(timeout=DEADLINE * 2)
        return self.process.returncode, err.decode(errors="replace")

    def close(self) -> None:
        """Stop the process if a test left it running, and close its pipes.

        SIGTERM first, so that it stops the toxiproxy-server it started (a SIGKILL
        would orphan it); SIGKILL only if that does not work.
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.communicate(timeout=DEADLINE)


@pytest.fixture
def run_proxy() -> Iterator[type[ProxyCommand]]:
    """Start ``wirefault proxy`` commands; every one is stopped after the test."""
    started: list[ProxyCommand] = []

    class Tracked(ProxyCommand):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for command in started:
        command.close()


@pytest.fixture(params=["embedded", "toxiproxy"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each backend name in turn (Toxiproxy skipped, or failed, when unavailable)."""
    if request.param == "toxiproxy":
        need_toxiproxy()
    name: str = request.param
    return name


def test_proxy_command_forwards_with_a_latency_toxic_and_stops_on_sigterm(
    run_proxy: type[ProxyCommand], echo: EchoServer, backend_name: str
) -> None:
    command = run_proxy(
        "--upstream", echo.address.hostport, "--backend", backend_name,
        "--toxic", "latency:latency=150",
    )  # fmt: skip
    match = LISTENING.match(command.readline())
    assert match, "first line must be 'listening on HOST:PORT (backend NAME)'"
    assert match.group(3) == backend_name
    assert command.readline().startswith("toxic latency_downstream:")
    listen = Address("tcp", match.group(1), int(match.group(2)))
    echoed, seconds = round_trip(listen, b"through the proxy")
    assert echoed == b"through the proxy"
    assert seconds >= 0.13
    children = command.children()
    status, err = command.stop(signal.SIGTERM)
    assert status == 130, err  # interrupted, as docs/CLI.md says of every command
    assert "Traceback" not in err
    for pid in children:  # a toxiproxy-server it started is gone too
        assert not pid_alive(pid)


def test_proxy_command_exits_130_on_sigint(run_proxy: type[ProxyCommand], echo: EchoServer) -> None:
    command = run_proxy("--upstream", echo.address.hostport, "--backend", "embedded")
    assert LISTENING.match(command.readline())
    status, err = command.stop(signal.SIGINT)
    assert status == 130, err
    assert err.strip().splitlines()[-1] == "wirefault: interrupted"


def _main_thread_only() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")


def test_a_stop_signal_during_set_up_ends_the_wait_at_once() -> None:
    _main_thread_only()
    before = signal.getsignal(signal.SIGTERM)
    with _stop_signals() as gate:
        os.kill(os.getpid(), signal.SIGTERM)  # handled now, while "setting up": remembered
        start = time.monotonic()
        with pytest.raises(_Stop):
            gate.wait()
        assert time.monotonic() - start < 0.5
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_stop_signal_during_the_wait_ends_it() -> None:
    _main_thread_only()
    with _stop_signals() as gate:
        timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(_Stop):
                gate.wait()
        finally:
            timer.join()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--toxic", "latency:lat=5"], "unknown attribute lat"),
        (["--toxic", "nosuch:x=1"], "unknown toxic 'nosuch'"),
        (["--listen", "localhost"], "listen address"),
        (["--backend", "toxiproxy", "--toxic", "split:offsets=1"], "use --backend embedded"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    if "toxiproxy" in args:
        need_toxiproxy()
    result = subprocess.run(
        [sys.executable, "-m", "wirefault", "proxy", "--upstream", "127.0.0.1:9", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 4,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
