"""Settings every test shares."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

_KEY_DIR: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Replay files the tests sign use a key of their own, never the user's (~/.config).

    And Ctrl-C works as from an interactive shell: a shell without job control
    (``cmd &`` in a script, some CI runners) starts commands with SIGINT ignored,
    which the servers and commands the tests start would inherit, and every test
    of what a Ctrl-C does would fail.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if "WIREFAULT_KEY_FILE" not in os.environ:
        _KEY_DIR.append(tempfile.mkdtemp(prefix="wirefault-test-key-"))
        os.environ["WIREFAULT_KEY_FILE"] = os.path.join(_KEY_DIR[0], "key")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: two workers per CPU (at most 16), since most tests wait on sockets.

    The suite spends about half its time waiting for servers, deadlines and
    subprocesses, so one worker per CPU leaves the CPUs idle half the time:
    on 2 CPUs, 4 workers finish the whole suite about a third sooner.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when it is set.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return min(2 * (os.cpu_count() or 1), 16)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the tests' key."""
    for path in _KEY_DIR:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop("WIREFAULT_KEY_FILE", None)


@pytest.fixture
def interrupted_popen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """``Popen`` that starts its process and then takes a Ctrl-C before returning.

    Yields the pids it started; any still running afterwards are killed (the bug
    this catches is exactly a process nobody else knows about).
    """
    started: list[int] = []
    real_popen = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = real_popen(*args, **kwargs)
        started.append(proc.pid)
        signal.raise_signal(signal.SIGINT)  # its handler runs before this returns
        return proc

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(subprocess, "Popen", popen)
    try:
        yield started
    finally:
        signal.signal(signal.SIGINT, previous)
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def needs_sock_diag() -> None:
    """Skip a test that needs Linux's sock_diag netlink where this system has none.

    Without it pacing falls back to drawn pauses and no silence is judged early.
    """
    from wirefault.sockdiag import DiagSocket

    diag = DiagSocket.open()
    if diag is None:
        pytest.skip("no sock_diag netlink here: pacing falls back to pauses")
    diag.close()
