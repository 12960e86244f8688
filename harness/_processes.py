"""Child processes: how a server command is run, waiting for it to end, and the guardian.

The helpers of :mod:`wirefault.target`. Nothing here sleeps a fixed interval: a
child's exit is an event (Linux: a pidfd, else ``Popen.wait``); the end of a
process group, which no event announces, is polled from 1 ms backing off to 5 ms.

Nothing is left behind, whatever kills wirefault. Every long-lived child (a
server under test, ``toxiproxy-server``, a ``--workers`` worker) runs in a
process group of its own, registered with :func:`guard_group` while it runs.
The first registration starts this process's guardian (:mod:`wirefault._guardian`),
which holds the read end of a pipe whose write end only this process has: when
this process exits for any reason, SIGKILL included, the pipe reaches
end-of-file and the guardian stops every group still registered (SIGTERM, then
SIGKILL 0.5 s later). A worker's own guardian then stops the worker's server.

Why not the alternatives: ``PR_SET_PDEATHSIG`` fires when the *thread* that
forked exits (the embedded proxy's and the pytest plugin's threads start
processes too), needs a ``preexec_fn`` (unsafe in a threaded process), and
reaches the direct child only, not a shell's or a forking server's children;
keeping children in our own process group protects only against a signal sent
to the whole group, not against a SIGKILL of this one process.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from wirefault._guardian import group_running

__all__ = [
    "FIRST_PAUSE",
    "LAST_PAUSE",
    "ExitWatch",
    "exec_form",
    "group_running",
    "guard_group",
    "release_group",
    "signal_group",
    "signals_held",
    "spawn_group",
    "wait_group_gone",
]

#: Polls back off from the first pause to the last: what they wait for is seen within
#: 5 ms of happening, at about 200 cheap checks a second at most.
FIRST_PAUSE = 0.001
LAST_PAUSE = 0.005
#: Shell words that ``exec`` would change the meaning of: a command starting with one
#: runs as written.
_SHELL_WORDS = frozenset((
    "!", "{", "}", "[[", "case", "do", "done", "elif", "else", "esac", "fi", "for",
    "function", "if", "in", "select", "then", "time", "until", "while",
    ".", ":", "alias", "builtin", "cd", "command", "eval", "exit", "export", "local",
    "read", "readonly", "return", "set", "shift", "source", "trap", "type", "ulimit",
    "umask", "unset", "wait",
))  # fmt: skip
#: Redirections keep a command simple; any other operator token makes it a script.
_REDIRECTS = frozenset({"<", ">", ">>", ">&", "<&", "<>", ">|"})


def exec_form(command: str) -> str:
    """``command`` prefixed with ``exec`` when it is one program and its arguments.

    Then the shell replaces itself with the server, and the process we start,
    wait for and signal is the server. A command with shell operators (``;``,
    ``&&``, ``|``, ``&``, subshells), a leading ``VAR=value`` or a shell
    keyword or builtin first is returned unchanged.
    """
    if "\n" in command:
        return command
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # unbalanced quotes: let the shell say so
        return command
    if not words or words[0] == "exec" or "=" in words[0] or words[0] in _SHELL_WORDS:
        return command
    operators = (w for w in words if w and not w.strip("();<>|&") and w not in _REDIRECTS)
    if any(operators):
        return command
    return f"exec {command}"


class ExitWatch:
    """Waits for one child process to exit: on its pidfd where Linux has one, else polling.

    The child is not reaped before the pidfd is opened, so its pid cannot have been reused.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._poll: select.poll | None = None
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # no pidfd_open: not Linux 5.3+
            self._fd = os.pidfd_open(proc.pid)
            self._poll = select.poll()
            self._poll.register(self._fd, select.POLLIN)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; whether the process has exited (it is reaped)."""
        if self.proc.poll() is not None:
            return True
        if timeout <= 0:
            return False
        if self._poll is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
            return self.proc.returncode is not None
        self._poll.poll(max(1, round(timeout * 1000)))
        return self.proc.poll() is not None

    def close(self) -> None:
        """Release the pidfd."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._poll = None


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then handle them as before.

    For the few steps between starting a process and recording it where it will be
    stopped: a KeyboardInterrupt raised in between (inside ``Popen``, after the
    fork) would lose the process, and leave it running after wirefault exits. Only
    the main thread is concerned: Python raises signal exceptions there alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, FrameType | None]] = []
    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):  # SIG_IGN and SIG_DFL are the kernel's, not Python's
            saved[sig] = handler
            signal.signal(sig, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        for number, previous in saved.items():
            signal.signal(number, previous)
        for signum, frame in held:
            saved[signum](signum, frame)


def spawn_group(argv: str | Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session (and process group) of its own, guarded by the guardian.

    Call it inside :func:`signals_held`, together with whatever records the process
    for stopping: then no interrupt can come between the start and the record.
    """
    proc: subprocess.Popen[bytes] = subprocess.Popen(argv, start_new_session=True, **popen)
    guard_group(proc.pid)  # its own session: the group id is its pid
    return proc


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pid``, if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def wait_group_gone(pgid: int, timeout: float) -> None:
    """Return once no process of group ``pgid`` runs, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    while group_running(pgid) and time.monotonic() < deadline:
        time.sleep(pause)  # no event tells when a grandchild exits
        pause = min(pause * 2, LAST_PAUSE)


class _Guardian:
    """This process's guardian: started on first use, told of every group we start and stop."""

    def __init__(self) -> None:
        read, self._fd = os.pipe()  # both close-on-exec: no child of ours inherits them
        devnull = os.open(os.devnull, os.O_RDWR)
        program = str(Path(__file__).with_name("_guardian.py"))
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", program],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read, 0),
                    (os.POSIX_SPAWN_DUP2, devnull, 1),
                    (os.POSIX_SPAWN_DUP2, devnull, 2),
                ],
                setsid=True,
            )
        except BaseException:
            os.close(self._fd)
            raise
        finally:
            os.close(read)
            os.close(devnull)
        # The guardian forks and this first process exits: reap it; the guardian
        # itself is nobody's child.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    def tell(self, line: str) -> bool:
        """Send one line; False if the guardian is gone."""
        try:
            os.write(self._fd, line.encode("ascii") + b"\n")  # < PIPE_BUF: atomic
        except OSError:
            return False
        return True

    def forget(self) -> None:
        """Close our end (in a forked child, which must not keep the pipe open)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


_guardian: _Guardian | None = None
_guardian_lock = threading.Lock()
_GUARDIAN_OFF = "WIREFAULT_NO_GUARDIAN"


def _forget_guardian_in_child() -> None:
    global _guardian
    if _guardian is not None:
        _guardian.forget()
        _guardian = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_guardian_in_child)


def guard_group(pgid: int) -> None:
    """Have process group ``pgid`` stopped if this process dies before :func:`release_group`.

    Best effort: where no guardian can be started (no ``posix_spawn``, or
    ``WIREFAULT_NO_GUARDIAN`` set) the group is stopped only by a clean exit.
    """
    global _guardian
    # One guardian per process, for the life of the process: it watches the process itself.
    with _guardian_lock:
        if _guardian is None:
            if os.environ.get(_GUARDIAN_OFF) or not hasattr(os, "posix_spawn"):
                return
            try:
                _guardian = _Guardian()
            except OSError:
                return
        if not _guardian.tell(f"+{pgid}"):
            _guardian.forget()
            _guardian = None


def release_group(pgid: int) -> None:
    """Forget process group ``pgid`` (it has been stopped)."""
    with _guardian_lock:
        if _guardian is not None:
            _guardian.tell(f"-{pgid}")
