"""How the reference servers' shared loop turns SIGINT and SIGTERM into a clean stop.

These run :func:`wirefault.targets._serving.run_target` in the test process itself (the
main thread, where signal handlers live), with small stand-in targets, so that
the awkward moments can be arranged exactly instead of hoped for.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable

import pytest

from wirefault.targets import _serving
from wirefault.targets._serving import (
    Ready,
    ServerStopped,
    listen_tcp,
    run_target,
    signals_deferred,
    stop_fd,
    wait_readable,
)


class _Target:
    """A stand-in target module: ``serve`` is whatever the test needs."""

    NAME = "stand-in"
    PROTOCOL = "raw"
    TRANSPORT = "tcp"

    def __init__(self, body: Callable[[socket.socket], None]) -> None:
        self.body = body
        self.stopped_by: int | None = None

    def serve(self, host: str, port: int, ready: Ready) -> None:
        listener = listen_tcp(host, port)
        try:
            ready(listener.getsockname()[:2])
            with signals_deferred():
                self.body(listener)
        except ServerStopped as stop:
            self.stopped_by = stop.signum
            raise
        finally:
            listener.close()


def _run_guarded(target: _Target) -> int:
    """``run_target(target)``, ended by a SIGINT to ourselves if it still runs after 10 s.

    A wait that should have ended then fails the test (stopped by SIGINT, not the
    signal the test sent) instead of hanging it.
    """
    timer = threading.Timer(10.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()
    try:
        return run_target(target, "127.0.0.1", 0)
    finally:
        timer.cancel()


def test_a_signal_noted_before_the_wait_still_ends_it() -> None:
    # The race this guards against: the C-level handler ran (it wrote the wakeup
    # byte) but CPython had already made its last check before the blocking call.
    # Writing the byte by hand is exactly that state; the wait must not block.
    def body(listener: socket.socket) -> None:
        assert _serving._stop_pipe is not None
        os.write(_serving._stop_pipe.write_fd, bytes([signal.SIGTERM]))
        wait_readable(listener)  # no client will ever come
        raise AssertionError("wait_readable returned instead of raising ServerStopped")

    target = _Target(body)
    assert _run_guarded(target) == 0
    assert target.stopped_by == signal.SIGTERM


def test_a_pending_signal_stops_the_next_wait_and_only_once() -> None:
    def body(listener: socket.socket) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # held back: the signals are deferred here
        while True:
            wait_readable(listener, 5.0)

    target = _Target(body)
    assert _run_guarded(target) == 0
    assert target.stopped_by == signal.SIGTERM


def test_a_signal_during_the_wait_interrupts_it() -> None:
    def body(listener: socket.socket) -> None:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        wait_readable(listener, 10.0)
        raise AssertionError("the wait ran out instead of being interrupted")

    target = _Target(body)
    assert run_target(target, "127.0.0.1", 0) == 0
    assert target.stopped_by == signal.SIGINT


def test_wait_readable_reports_a_ready_socket_and_a_timeout() -> None:
    results: list[bool] = []

    def body(listener: socket.socket) -> None:
        results.append(wait_readable(listener, 0.05))  # nobody connects
        with socket.create_connection(listener.getsockname()[:2]):
            results.append(wait_readable(listener, 5.0))

    assert run_target(_Target(body), "127.0.0.1", 0) == 0
    assert results == [False, True]


def test_run_target_puts_everything_back() -> None:
    handlers = {sig: signal.getsignal(sig) for sig in _serving.STOP_SIGNALS}
    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)
    seen: list[int | None] = []

    def body(listener: socket.socket) -> None:
        seen.append(stop_fd())

    assert run_target(_Target(body), "127.0.0.1", 0) == 0
    assert seen[0] is not None
    assert stop_fd() is None
    assert {sig: signal.getsignal(sig) for sig in _serving.STOP_SIGNALS} == handlers
    assert signal.set_wakeup_fd(before) == before
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(seen[0])  # the stop pipe is closed
