"""The target manager: starts a server command, waits until it answers, restarts it after a crash.

The command runs in its own process group (so a forking server's children
stop with it) with stdout and stderr in temporary files: stdout is watched for
a ``listening on HOST:PORT`` line (what ``wirefault serve`` prints), stderr's
tail goes into crash reports. A simple command (one program and its
arguments, no shell operators) is run with ``exec``, so the process we watch
is the server itself: its exit status or signal is what a crash report says,
not a shell's ``128 + N``.

Nothing here sleeps a fixed interval. An exit is an event (Linux: a pidfd,
else ``Popen.wait``), so a crash is seen the moment it happens; readiness,
which no event announces, is probed from 1 ms backing off to 5 ms, so a
restart costs the server's own start-up plus at most a few milliseconds.
Every wait is bounded by its deadline, and by the run's cutoff when one is
given (a start cut short by the time budget raises ``OutOfTime``).

While it runs, the server's process group is registered with this process's
guardian (:func:`wirefault._processes.guard_group`): if wirefault is killed,
even with SIGKILL, the server is stopped within a second.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from types import TracebackType

from wirefault._processes import (
    FIRST_PAUSE,
    LAST_PAUSE,
    ExitWatch,
    exec_form,
    release_group,
    signal_group,
    signals_held,
    spawn_group,
    wait_group_gone,
)
from wirefault.addresses import Address, parse_hostport
from wirefault.cpu import group_cpu_seconds
from wirefault.cutoff import Cutoff
from wirefault.errors import TargetError
from wirefault.server_activity import VISIBLE, IdleSpell, ServerActivity

__all__ = ["CrashReport", "ServerProcess", "free_port"]

_LISTENING = re.compile(rb"listening on (\[[^\]]+\]:\d+|[^\s:]+:\d+)")
#: Seconds a server gets to stop on SIGTERM once the run's cutoff has passed.
STOP_GRACE_PAST_CUTOFF = 0.5


@dataclass(frozen=True)
class CrashReport:
    """How a server process ended: exit status or signal, and the tail of its stderr."""

    returncode: int
    stderr_tail: str

    @property
    def how(self) -> str:
        """``exit status N`` or ``killed by SIGNAME``."""
        if self.returncode < 0:
            try:
                return f"killed by {signal.Signals(-self.returncode).name}"
            except ValueError:
                return f"killed by signal {-self.returncode}"
        return f"exit status {self.returncode}"

    def describe(self) -> str:
        """One paragraph: how it ended and what it said last."""
        tail = self.stderr_tail.strip()
        return f"server crashed ({self.how})" + (f"; stderr ends:\n{tail}" if tail else "")


def free_port(host: str = "127.0.0.1", *, udp: bool = False) -> int:
    """A port that was free a moment ago on ``host`` (the kernel's choice for port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _udp_port_bound(port: int) -> bool:
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


class ServerProcess:
    """A server under test started from a command line.

    Args:
        command: a shell command; ``{port}``, ``{host}`` and ``{path}`` are replaced.
        address: where it will listen; port 0 picks a free port (needs ``{port}`` in
            the command, or a ``listening on HOST:PORT`` line on its stdout).
        ready_timeout: seconds to wait until it answers.
        cutoff: when the run must stop; bounds every start and restart (None: never).
    """

    def __init__(
        self,
        command: str,
        address: Address,
        *,
        ready_timeout: float = 15.0,
        cutoff: Cutoff | None = None,
    ) -> None:
        if not command.strip():
            raise TargetError("the server command is empty; pass --start 'CMD {port}'")
        self.command = command
        self.requested = address
        self.address = address
        self.ready_timeout = ready_timeout
        self.cutoff = cutoff or Cutoff()
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._activity: ServerActivity | None = None
        self._exit: ExitWatch | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="wirefault-server-")
        self._out_path = os.path.join(self._dir.name, "stdout")
        self._err_path = os.path.join(self._dir.name, "stderr")
        self.last_crash: CrashReport | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Address:
        """Start the command and wait until it answers; returns where it listens.

        Raises:
            TargetError: it exited at once, or did not answer within ``ready_timeout``.
            OutOfTime, KeyboardInterrupt: the cutoff came first (the process is stopped).
        """
        address = self.requested
        if address.transport != "unix" and address.port == 0 and "{port}" in self.command:
            address = address.with_port(free_port(address.host, udp=address.transport == "udp"))
        cmd = (
            self.command.replace("{port}", str(address.port))
            .replace("{host}", address.host)
            .replace("{path}", address.path)
        )
        try:
            with (
                signals_held(),
                open(self._out_path, "wb") as out,
                open(self._err_path, "wb") as err,
            ):
                self._proc = spawn_group(  # noqa: S604 - the user's own shell command, on purpose
                    exec_form(cmd), shell=True, stdout=out, stderr=err
                )
                self._exit = ExitWatch(self._proc)
            self.last_crash = None
            self.address = self._wait_ready(address, cmd)
        except BaseException:
            self.stop()  # a server that never became ready is not left running
            raise
        return self.address

    def _wait_ready(self, address: Address, cmd: str) -> Address:
        deadline = self.cutoff.bound(time.monotonic() + self.ready_timeout)
        pause = FIRST_PAUSE
        announce = address.transport != "unix" and address.port == 0
        while True:
            crash = self.poll_crash()
            if crash is not None:
                raise TargetError(
                    f"the server command exited at once ({crash.how}): {cmd!r}"
                    + (f"; stderr: {crash.stderr_tail.strip()[-300:]}" if crash.stderr_tail else "")
                )
            if announce:
                announced = self._announced(address)
                if announced is not None:
                    address, announce = announced, False
            if not announce and self._answers(address):
                return address
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # Returns early if the process exits: that is reported at the top.
            self.wait_crash(min(pause, left))
            pause = min(pause * 2, LAST_PAUSE)
        self.stop()
        self.cutoff.check()  # cut short: not the server's fault
        raise TargetError(self._not_ready(address, cmd, announce))

    def _not_ready(self, address: Address, cmd: str, announce: bool) -> str:
        if announce:
            what = (
                f"the server did not print 'listening on HOST:PORT' within "
                f"{self.ready_timeout:g}s: {cmd!r}; put {{port}} in the command, or make the "
                "server print that line on stdout"
            )
        else:
            what = (
                f"the server did not answer on {address} within {self.ready_timeout:g}s: "
                f"{cmd!r}; check the command and that it listens on {{port}}"
            )
        tail = self.stderr_tail(300).strip()
        return what + (f"; stderr ends: {tail}" if tail else "")

    def _announced(self, address: Address) -> Address | None:
        with open(self._out_path, "rb") as f:
            match = _LISTENING.search(f.read(65536))
        if match is None:
            return None
        host, port = parse_hostport(match.group(1).decode(), what="announced address")
        return Address(address.transport, host, port)

    @staticmethod
    def _answers(address: Address) -> bool:
        if address.transport == "udp":
            return _udp_port_bound(address.port)
        try:
            with socket.socket(address.family, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(address.sockaddr())
        except OSError:
            return False
        return True

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._proc is not None and self._proc.poll() is None

    def activity(self) -> ServerActivity | None:
        """What the server's processes are doing, to look at (None: not running, no ``/proc``)."""
        if not VISIBLE or not self.alive() or self._proc is None:
            return None
        if self._activity is None or self._activity.pid != self._proc.pid:
            self._activity = ServerActivity(self._proc.pid)
        return self._activity

    def cpu_seconds(self) -> float | None:
        """CPU seconds the server's processes have used (None: not running, or no ``/proc``)."""
        if not self.alive() or self._proc is None:
            return None
        return group_cpu_seconds(self._proc.pid)  # its own session: its group is its pid

    def poll_crash(self) -> CrashReport | None:
        """A crash report if the process has exited, else None."""
        if self._proc is None or self._proc.poll() is None:
            return None
        report = CrashReport(self._proc.returncode, self.stderr_tail())
        self.last_crash = report
        return report

    def wait_crash(self, timeout: float) -> CrashReport | None:
        """Wait up to ``timeout`` seconds for the process to exit; its crash report, or None.

        Returns as soon as the process exits (it does not sleep out the timeout);
        None at once if no process is running.
        """
        if self._exit is None or self._proc is None:
            return None
        self._exit.wait(timeout)
        return self.poll_crash()

    def wait_crash_unless_idle(self, timeout: float, idle_for: float) -> CrashReport | None:
        """As :meth:`wait_crash`, but give up as soon as the server looks idle for ``idle_for``.

        Idle: its processes alive, using no CPU, and no thread of theirs running,
        ready to run, in disk I/O or asleep on a timer, at every look for
        ``idle_for`` seconds. A process on its way out is none of that (it unwinds,
        prints, dumps core), so an idle one is not about to exit. Where the
        processes cannot be seen, the whole ``timeout`` is waited as before.
        """
        until = time.monotonic() + timeout
        activity = self.activity()
        first = activity.look() if activity is not None else None
        if activity is None or first is None:
            return self.wait_crash(timeout)
        spell = IdleSpell()
        spell.start(first, time.monotonic())
        while True:
            left = until - time.monotonic()
            crash = self.wait_crash(min(idle_for / 4, max(left, 0.0)))
            if crash is not None or left <= 0:
                return crash
            after = activity.look()
            if after is None:
                return self.wait_crash(max(until - time.monotonic(), 0.0))
            if spell.look(after, time.monotonic()) >= idle_for:
                return None

    def stderr_tail(self, limit: int = 2000) -> str:
        """The last ``limit`` bytes of the server's stderr, as text."""
        try:
            with open(self._err_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(f.tell() - limit, 0))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def restart(self) -> Address:
        """Stop what is left of the process and start it again (same port when fixed)."""
        self.stop()
        self.restarts += 1
        if self.requested.port == 0 and "{port}" in self.command:
            self.requested = self.address  # keep the port the first start chose
        return self.start()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``timeout``; idempotent.

        Returns once no process of the group is running (or after a further
        ``timeout``), so a restart never finds the old server still on its port.
        """
        proc, self._proc = self._proc, None
        watch, self._exit = self._exit, None
        if proc is None or watch is None:
            return
        # Past the cutoff (the budget's end, or an interrupt) a server gets a short grace.
        timeout = min(
            timeout, max(self.cutoff.left() + STOP_GRACE_PAST_CUTOFF, STOP_GRACE_PAST_CUTOFF)
        )
        try:
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGTERM)
                if not watch.wait(timeout):
                    signal_group(proc.pid, signal.SIGKILL)
                    watch.wait(timeout)
            # A forking server's children (or a shell's) may outlive the process we
            # started: end the whole group, and wait until it is gone.
            signal_group(proc.pid, signal.SIGKILL)
            wait_group_gone(proc.pid, timeout)
        finally:
            watch.close()
            release_group(proc.pid)

    def close(self) -> None:
        """Stop the process and remove its temporary files."""
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
