"""A TCP echo server with one process per client (``os.fork``), reaping its children."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from typing import NoReturn

from targets._serving import (
    MAX_CLIENTS,
    STOP_SIGNALS,
    Ready,
    idle_timeout,
    interruptible,
    listen_tcp,
    signals_deferred,
)

NAME = "echo-forking"
PROTOCOL = "raw"
TRANSPORT = "tcp"

CHUNK = 65536
# How often the parent wakes from accept() to reap children that have exited.
# Reaping on a timer (waitpid with WNOHANG) rather than in a SIGCHLD handler keeps
# all process bookkeeping in one place of the main loop: a handler could run in
# the middle of it, and would race with the blocking waitpid used when full.
REAP_INTERVAL = 0.5

log = logging.getLogger(NAME)


def _echo(conn: socket.socket) -> None:
    """The child's whole job: echo one client until EOF, idle timeout or a broken connection."""
    while True:
        data = conn.recv(CHUNK)
        if not data:
            return  # half-closed: every byte before the EOF has been echoed
        conn.sendall(data)


def _child(listener: socket.socket, conn: socket.socket, idle: float) -> NoReturn:
    """Run in the forked child: serve ``conn``, then leave with os._exit, never returning."""
    status = 0
    try:
        # The child must not accept: only the parent owns the listener.
        listener.close()
        # The fork happened with SIGINT and SIGTERM blocked (signals_deferred). A child
        # holds nothing that needs cleaning up beyond what the kernel does at exit, so
        # the default action, dying at once, is the right one: restore it, unblock.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        conn.settimeout(idle)  # a silent or stalled client ends this child, not others
        _echo(conn)
    except OSError as exc:
        log.info("connection ended: %s", exc)
    except BaseException:
        log.exception("bug while serving a connection")
        status = 1
    finally:
        conn.close()
        # os._exit, not sys.exit: the child must not run the parent's `finally`
        # blocks, atexit hooks or stdio flushes it inherited with the fork.
        os._exit(status)


def _reap(children: set[int], *, block: bool = False) -> None:
    """Collect exited children so none stays a zombie; with ``block``, wait for one first."""
    flags = 0 if block else os.WNOHANG
    while children:
        try:
            # Only a blocking wait may be interrupted by a stop signal.
            pid, _ = os.waitpid(-1, flags) if flags else interruptible(os.waitpid, -1, 0)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return  # children remain, none has exited
        children.discard(pid)
        flags = os.WNOHANG  # after the first, only collect what is ready


def _stop_children(children: set[int], timeout: float = 2.0) -> None:
    """SIGTERM every child, wait up to ``timeout`` for them, SIGKILL what is left."""
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            children.discard(pid)
    deadline = time.monotonic() + timeout
    while children and time.monotonic() < deadline:
        _reap(children)
        if children:
            time.sleep(0.02)  # a bounded wait for processes to exit; not synchronisation
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        children.discard(pid)


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    idle = idle_timeout()
    children: set[int] = set()
    listener = listen_tcp(host, port)
    try:
        listener.settimeout(REAP_INTERVAL)
        ready(listener.getsockname()[:2])
        with signals_deferred():  # forks happen with stop signals held back
            while True:
                _reap(children)
                if len(children) >= MAX_CLIENTS:
                    _reap(children, block=True)  # full: new clients wait in the backlog
                    continue
                try:
                    conn, _ = interruptible(listener.accept)
                except TimeoutError:
                    continue  # time to reap
                except OSError as exc:
                    log.warning("accept() failed: %s", exc)
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(listener, conn, idle)  # never returns
                children.add(pid)
                # The parent keeps no copy of the connection: the child owns it now,
                # and the client sees EOF when the child closes it.
                conn.close()
    finally:
        listener.close()
        _stop_children(children)
