"""A TCP echo server on one thread: a ``selectors`` loop over non-blocking sockets."""

from __future__ import annotations

import logging
import selectors
import socket
import time
from dataclasses import dataclass, field

from wirefault.targets._serving import (
    MAX_CLIENTS,
    Ready,
    check_stop,
    idle_timeout,
    interruptible,
    listen_tcp,
    signals_deferred,
    stop_fd,
)

NAME = "echo-selectors"
PROTOCOL = "raw"
TRANSPORT = "tcp"

CHUNK = 65536
# Stop reading a client once this much of its echo is unsent: a client that writes
# but never reads would otherwise grow its buffer until the server runs out of memory.
# Not reading lets TCP flow control push back on the client instead.
MAX_OUTGOING = 1 << 20

log = logging.getLogger(NAME)

_STOP = object()  # selector data of the stop pipe (None marks the listener)


@dataclass(eq=False)
class _Client:
    """One connection: its socket, the echo not yet sent, and when it expires."""

    sock: socket.socket
    deadline: float
    outgoing: bytearray = field(default_factory=bytearray)
    eof: bool = False  # the client half-closed: flush its echo, then close
    events: int = selectors.EVENT_READ  # what the selector watches for now


class _EchoLoop:
    """The event loop: the listener and every client, served as each becomes ready."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.idle = idle_timeout()
        self.selector = selectors.DefaultSelector()
        self.clients: set[_Client] = set()
        self.accepting = True
        self.resume_at: float | None = None  # when to accept again after a failed accept()
        self.selector.register(listener, selectors.EVENT_READ, None)
        wakeup = stop_fd()  # readable once a stop signal arrives, however late
        if wakeup is not None:
            self.selector.register(wakeup, selectors.EVENT_READ, _STOP)

    def run(self) -> None:
        """Serve until an exception (ServerStopped on a signal) ends the loop."""
        while True:
            # Wake up for I/O, or when the next client's idle deadline passes.
            deadlines = [c.deadline for c in self.clients]
            if self.resume_at is not None:
                deadlines.append(self.resume_at)
            timeout = max(min(deadlines) - time.monotonic(), 0.0) if deadlines else None
            # The one place a stop signal may interrupt: see _serving.signals_deferred.
            for key, events in interruptible(self.selector.select, timeout):
                if key.data is _STOP:
                    check_stop()
                elif key.data is None:
                    self._accept()
                else:
                    self._service(key.data, events)
            now = time.monotonic()
            for client in [c for c in self.clients if c.deadline <= now]:
                log.info("dropping a client idle for %g s", self.idle)
                self._drop(client)
            if self.resume_at is not None and self.resume_at <= now:
                self._resume_accepting()

    def _accept(self) -> None:
        """Accept every pending connection, up to MAX_CLIENTS."""
        while len(self.clients) < MAX_CLIENTS:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return  # no more pending connections
            except ConnectionAbortedError:
                continue  # the client gave up before we got to it
            except OSError as exc:
                # E.g. EMFILE. The listener stays readable, so retrying now would spin:
                # pause for a second (or until a client closes and frees a descriptor).
                log.warning("accept() failed: %s; pausing new connections", exc)
                self._pause_accepting(resume_at=time.monotonic() + 1.0)
                return
            conn.setblocking(False)
            client = _Client(conn, time.monotonic() + self.idle)
            self.clients.add(client)
            self.selector.register(conn, client.events, client)
        # Full. New clients wait in the listen backlog until _drop() makes room.
        self._pause_accepting(resume_at=None)

    def _pause_accepting(self, *, resume_at: float | None) -> None:
        """Stop watching the listener, or select() would report it ready again at once."""
        if self.accepting:
            self.selector.unregister(self.listener)
            self.accepting = False
        self.resume_at = resume_at

    def _resume_accepting(self) -> None:
        """Watch the listener again."""
        self.resume_at = None
        if not self.accepting:
            self.accepting = True
            self.selector.register(self.listener, selectors.EVENT_READ, None)

    def _service(self, client: _Client, events: int) -> None:
        """Read what the client sent and write what we owe it, without ever blocking."""
        try:
            if events & selectors.EVENT_READ:
                data = client.sock.recv(CHUNK)
                if data:
                    client.outgoing += data
                else:
                    client.eof = True
            if client.outgoing:
                # send() on a non-blocking socket takes what fits in the socket
                # buffer, possibly less than asked: keep the rest for EVENT_WRITE.
                sent = client.sock.send(client.outgoing)
                del client.outgoing[:sent]
        except BlockingIOError:
            pass  # a spurious wake-up; the selector reports it again when it is real
        except OSError as exc:
            # ECONNRESET, EPIPE, ...: this client is gone; the others are not.
            log.info("dropping a client: %s", exc)
            self._drop(client)
            return
        client.deadline = time.monotonic() + self.idle
        if client.eof and not client.outgoing:
            self._drop(client)  # half-closed and fully echoed: done
            return
        wanted = selectors.EVENT_WRITE if client.outgoing else 0
        if not client.eof and len(client.outgoing) < MAX_OUTGOING:
            wanted |= selectors.EVENT_READ
        if wanted != client.events:
            client.events = wanted
            self.selector.modify(client.sock, wanted, client)

    def _drop(self, client: _Client) -> None:
        """Close one client and, if we had stopped accepting, start again."""
        self.selector.unregister(client.sock)
        client.sock.close()
        self.clients.discard(client)
        self._resume_accepting()

    def close(self) -> None:
        """Close every client socket and the selector (the caller closes the listener)."""
        for client in self.clients:
            client.sock.close()
        self.clients.clear()
        self.selector.close()


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    listener = listen_tcp(host, port)
    try:
        # Non-blocking, or accept() could block after select() said "readable" if
        # the client reset the connection in between.
        listener.setblocking(False)
        loop = _EchoLoop(listener)
        try:
            ready(listener.getsockname()[:2])
            with signals_deferred():
                loop.run()
        finally:
            loop.close()
    finally:
        listener.close()
