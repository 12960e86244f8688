"""What every target shares: the process wrapper, the idle timeout, listening, closing politely.

A target module only has to bind, call ``ready(address)`` once listening, and
serve. :func:`run_target` turns SIGINT and SIGTERM into :class:`ServerStopped`
raised in the main thread, so a server loop blocked in ``accept()`` or
``select()`` unwinds through its ``finally`` blocks and closes its sockets; it
then exits with status 0.

An exception that can appear between any two bytecodes is dangerous: raised
inside ``threading.Condition.wait``, a logging lock or an at-fork hook, it
leaves a lock in the wrong state. So the reference servers run their loop
inside :func:`signals_deferred` (SIGINT and SIGTERM are blocked, for the main
thread and every thread or child it starts) and let the signals in only
around their one blocking wait, :func:`wait_readable` (or, for a selector
loop, :func:`interruptible` with :func:`stop_fd` registered beside the
sockets).

Letting a signal in around a blocking call is not enough by itself: a signal
that lands after CPython's last check for signals but before the call enters
the kernel is noted by the C-level handler and then waits, with the process
blocked in ``accept()`` for good. :func:`run_target` therefore also points
``signal.set_wakeup_fd`` at a pipe, and every wait includes that pipe: a byte
in it means "stop", however late the signal came.

:func:`serve_thread_per_connection` is the accept loop of the threaded
servers (echo-threaded, line, lenprefix, http).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import ParamSpec, Protocol, TypeVar

from wirefault.addresses import format_hostport
from wirefault.errors import TargetError, UsageError

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "MAX_CLIENTS",
    "STOP_SIGNALS",
    "Ready",
    "ServerStopped",
    "TargetModule",
    "check_stop",
    "drain_before_close",
    "family_for",
    "idle_timeout",
    "interruptible",
    "listen_tcp",
    "run_target",
    "serve_thread_per_connection",
    "signals_deferred",
    "stop_fd",
    "wait_readable",
]

Ready = Callable[[tuple[str, int]], None]
"""The callback a target calls once, with the address it is listening on."""

DEFAULT_IDLE_TIMEOUT = 30.0  # seconds; WIREFAULT_IDLE_TIMEOUT overrides it
MAX_CLIENTS = 256  # concurrent connections of a thread- or process-per-client server

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})

log = logging.getLogger("wirefault.targets")

_P = ParamSpec("_P")
_T = TypeVar("_T")


class TargetModule(Protocol):
    """The contract of every module in ``targets/`` and ``targets/buggy/``."""

    NAME: str
    PROTOCOL: str
    TRANSPORT: str

    def serve(self, host: str, port: int, ready: Ready) -> None:
        """Bind, call ``ready(bound_address)`` once listening, serve until signalled."""


class ServerStopped(BaseException):
    """Raised in the main thread when the process gets SIGINT or SIGTERM.

    A BaseException, like KeyboardInterrupt, so that a server's
    ``except Exception`` around one connection does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Block SIGINT and SIGTERM while inside, except within :func:`interruptible` calls.

    The signal mask is per thread and inherited by threads started and
    processes forked inside, so none of them can take the signal either: it
    stays pending until the main thread opens the door in :func:`interruptible`.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def interruptible(call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run one blocking call with SIGINT and SIGTERM let in.

    A pending signal is handled as the mask opens (CPython checks for signals
    right there), and one that arrives during the call interrupts it; either way
    :class:`ServerStopped` is raised here, where no lock is held. Wrap only calls
    that are safe to abandon, and that also wake up when :func:`stop_fd` becomes
    readable (see the module docstring): ``select()`` on a set that includes it,
    or a call with a short timeout.
    """
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        return call(*args, **kwargs)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


class _StopPipe:
    """The pipe ``signal.set_wakeup_fd`` writes a byte to for every stop signal."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)  # set_wakeup_fd requires it
        self.stopping = False

    def take(self) -> int | None:
        """The first signal number written since the last call, or None."""
        try:
            data = os.read(self.read_fd, 64)
        except BlockingIOError:
            return None
        return data[0] if data else None

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


_stop_pipe: _StopPipe | None = None  # set by run_target, for the process's main thread


def stop_fd() -> int | None:
    """The file descriptor that becomes readable when a stop signal arrives.

    Register it in a selector beside the sockets and call :func:`check_stop`
    when it fires. None when the target runs without :func:`run_target` (for
    example in a test's thread): then only the signal mask applies.
    """
    return _stop_pipe.read_fd if _stop_pipe is not None else None


def check_stop() -> None:
    """Raise :class:`ServerStopped` if a stop signal has arrived; otherwise return.

    Raises:
        ServerStopped: a stop signal arrived, even one whose Python-level handler
            has not run yet.
    """
    if _stop_pipe is None or _stop_pipe.stopping:
        return
    signum = _stop_pipe.take()
    if signum is not None:
        _stop_pipe.stopping = True  # the handler, if it still runs, must not raise again
        raise ServerStopped(signum)


def wait_readable(sock: socket.socket | None, timeout: float | None = None) -> bool:
    """Wait until ``sock`` is readable or ``timeout`` seconds pass; stop signals let in.

    With ``sock`` None, just wait out the timeout. This is the one blocking wait
    of the threaded, forking and UDP reference servers; the read that follows
    must be non-blocking, since readiness can be withdrawn (a client resets
    before ``accept()``, a datagram fails its checksum).

    Returns:
        whether ``sock`` is readable (False: the timeout passed).

    Raises:
        ServerStopped: SIGINT or SIGTERM arrived before or during the wait.
    """
    watched: list[socket.socket | int] = [] if sock is None else [sock]
    wakeup = stop_fd()
    if wakeup is not None:
        watched.append(wakeup)
    readable, _, _ = interruptible(select.select, watched, [], [], timeout)
    if wakeup is not None and wakeup in readable:
        check_stop()
        readable.remove(wakeup)
    return bool(readable)


def idle_timeout() -> float:
    """Seconds a connection may stay silent (or stalled) before the server drops it.

    Read from ``WIREFAULT_IDLE_TIMEOUT``; 30 s when unset.

    Raises:
        UsageError: the variable is set to something that is not a number > 0.
    """
    text = os.environ.get("WIREFAULT_IDLE_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_IDLE_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise UsageError(
            f"WIREFAULT_IDLE_TIMEOUT={text!r} is not a number of seconds > 0; "
            f"set it like WIREFAULT_IDLE_TIMEOUT=5, or unset it for {DEFAULT_IDLE_TIMEOUT:g} s"
        )
    return value


def family_for(host: str) -> socket.AddressFamily:
    """AF_INET6 for an IPv6 literal, else AF_INET."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen_tcp(host: str, port: int, *, backlog: int = 128) -> socket.socket:
    """A listening TCP socket on ``(host, port)``.

    ``socket.create_server`` sets SO_REUSEADDR, so a restarted server can bind
    its port again while connections of the previous run sit in TIME_WAIT.
    """
    return socket.create_server((host, port), family=family_for(host), backlog=backlog)


def drain_before_close(sock: socket.socket, *, timeout: float = 2.0, limit: int = 4 << 20) -> None:
    """Half-close ``sock`` and discard what the client still sends, so the last reply survives.

    Closing a socket whose receive queue holds unread bytes makes Linux send an
    RST instead of a FIN, and an RST can destroy a reply (``ERR ...``, ``400``)
    the client has not read yet. So after an error reply we shut down our side
    and read until the client closes too, for at most ``timeout`` seconds and
    ``limit`` bytes. The caller still closes the socket.
    """
    deadline = time.monotonic() + timeout
    try:
        sock.shutdown(socket.SHUT_WR)
        while limit > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                return
            limit -= len(data)
    except OSError:
        return  # reset, timed out, already shut: nothing more to save


def serve_thread_per_connection(
    listener: socket.socket,
    handle: Callable[[socket.socket], None],
    *,
    max_clients: int = MAX_CLIENTS,
) -> None:
    """Accept clients forever, each served by ``handle(conn)`` in a thread of its own.

    Call it from the main thread: signals are deferred inside (see
    :func:`signals_deferred`) and let in only while waiting in ``accept()``.

    Each ``conn`` is blocking with the idle timeout as its timeout, so a silent
    or stalled client raises TimeoutError in its own thread instead of pinning
    it forever. An OSError or a bug in ``handle`` ends that one connection
    only. ``handle`` must not close ``conn``: this function does, after the
    handler returns. At most ``max_clients`` are served at once; later ones
    wait in the listen backlog. On :class:`ServerStopped` every live
    connection is shut down, which wakes its thread from ``recv()``.
    """
    timeout = idle_timeout()
    listener.setblocking(False)  # accepted sockets get their own timeout below
    slots = threading.BoundedSemaphore(max_clients)
    lock = threading.Lock()  # guards `live`; a socket is closed only after leaving it
    live: dict[socket.socket, threading.Thread] = {}

    def run(conn: socket.socket) -> None:
        try:
            handle(conn)
        except OSError as exc:
            log.info("connection ended: %s", exc)
        except Exception:
            log.exception("bug while serving a connection; closing it, still serving others")
        finally:
            with lock:
                del live[conn]
            conn.close()
            slots.release()

    with signals_deferred():  # worker threads inherit the blocked mask
        try:
            while True:
                # Full: new clients wait in the listen backlog. Poll for a free slot,
                # since a wait on the semaphore itself is not safe to interrupt.
                while not slots.acquire(timeout=0.05):
                    wait_readable(None, 0)
                if not wait_readable(listener):
                    slots.release()
                    continue
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    slots.release()  # the client gave up between select() and accept()
                    continue
                except OSError as exc:
                    slots.release()
                    _accept_failed(exc)
                    continue
                conn.settimeout(timeout)
                thread = threading.Thread(target=run, args=(conn,), daemon=True)
                with lock:
                    live[conn] = thread
                thread.start()
        finally:
            listener.close()
            with lock:
                threads = list(live.values())
                for conn in live:
                    _shutdown_quietly(conn)
            deadline = time.monotonic() + 2.0
            for thread in threads:
                if thread.is_alive():
                    thread.join(max(deadline - time.monotonic(), 0.0))


def _accept_failed(exc: OSError) -> None:
    """Log a failed accept(); back off when out of file descriptors instead of spinning."""
    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
        log.warning("accept() failed (%s); pausing new connections for a second", exc)
        wait_readable(None, 1.0)
    else:
        log.info("accept() failed: %s", exc)  # e.g. ECONNABORTED: the client gave up first


def _shutdown_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already disconnected
        sock.shutdown(socket.SHUT_RDWR)


def run_target(module: TargetModule, host: str, port: int) -> int:
    """Run a target in the foreground until SIGINT or SIGTERM; return the exit status (0).

    Prints exactly ``listening on HOST:PORT`` (IPv6 bracketed) on stdout once
    the target listens, then flushes: that line is how callers learn the port
    when they asked for port 0.

    Raises:
        TargetError: the target cannot listen on ``host:port`` (in use, not
            permitted, no such address).
    """
    logging.basicConfig(level=logging.WARNING, format=f"{module.NAME}: %(message)s")
    announced = False

    def ready(address: tuple[str, int]) -> None:
        nonlocal announced
        if not announced:
            announced = True
            print(f"listening on {format_hostport(address[0], address[1])}", flush=True)

    global _stop_pipe
    pipe = _StopPipe()

    def stop(signum: int, frame: FrameType | None) -> None:
        # Ignore repeats so that a second signal cannot interrupt the cleanup.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if not pipe.stopping:  # check_stop may have raised for this signal already
            pipe.stopping = True
            raise ServerStopped(signum)

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    previous_wakeup = signal.set_wakeup_fd(pipe.write_fd, warn_on_full_buffer=False)
    _stop_pipe = pipe
    try:
        for sig in previous:
            signal.signal(sig, stop)
        module.serve(host, port, ready)
    except ServerStopped:
        pass
    except OSError as exc:
        if announced:
            raise  # a failure after startup is the server's bug, not the user's
        raise _cannot_listen(module, host, port, exc) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_wakeup)
        _stop_pipe = None
        pipe.close()
    sys.stdout.flush()
    return 0


def _cannot_listen(module: TargetModule, host: str, port: int, exc: OSError) -> TargetError:
    """The error for a bind that failed, with the fix that fits the cause."""
    where = f"{module.TRANSPORT}://{format_hostport(host, port)}"
    other_port = "pick another --port, or --port 0 for a free one"
    other_host = "pass --host 127.0.0.1 (the default) or another address of this machine"
    if exc.errno == errno.EADDRINUSE:
        why, fix = f"port {port} is already in use", other_port
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why, fix = "permission denied (ports below 1024 need privileges)", other_port
    elif exc.errno == errno.EADDRNOTAVAIL:
        why, fix = f"{host} is not an address of this machine", other_host
    elif isinstance(exc, socket.gaierror) or (exc.errno or 0) < 0:
        # getaddrinfo's EAI_* codes are negative; create_server re-raises them as OSError.
        why, fix = f"cannot resolve host {host!r}", other_host
    else:
        why, fix = exc.strerror or str(exc), f"{other_port}; or {other_host}"
    return TargetError(f"{module.NAME} cannot listen on {where}: {why}; {fix}")
