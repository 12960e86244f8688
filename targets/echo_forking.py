"""A TCP echo server with one process per client (``os.fork``), reaping its children."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from typing import NoReturn

from wirefault.targets._serving import (
    MAX_CLIENTS,
    STOP_SIGNALS,
    Ready,
    idle_timeout,
    listen_tcp,
    signals_deferred,
    wait_readable,
)

NAME = "echo-forking"
PROTOCOL = "raw"
TRANSPORT = "tcp"

CHUNK = 65536
# How often the parent wakes from waiting for clients to reap children that have
# exited. Reaping on a timer (waitpid with WNOHANG) rather than in a SIGCHLD handler
# keeps all process bookkeeping in one place of the main loop, where a handler
# could otherwise run in the middle of it.
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
        signal.set_wakeup_fd(-1)  # the parent's stop pipe is the parent's business
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


def _reap(children: set[int]) -> None:
    """Collect every child that has exited, without waiting, so none stays a zombie."""
    while children:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return  # children remain, none has exited
        children.discard(pid)


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
        listener.setblocking(False)  # accept() only after wait_readable() says a client is there
        ready(listener.getsockname()[:2])
        with signals_deferred():  # forks happen with stop signals held back
            while True:
                _reap(children)
                if len(children) >= MAX_CLIENTS:
                    wait_readable(None, REAP_INTERVAL)  # full: new clients wait in the backlog
                    continue
                if not wait_readable(listener, REAP_INTERVAL):
                    continue  # time to reap
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    continue  # the client gave up between select() and accept()
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
