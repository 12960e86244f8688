"""A forking h11 HTTP/1.1 server whose header check by regex backtracks forever on some values."""

from __future__ import annotations

import logging
import os
import re
import resource
import signal
import socket
from collections.abc import Callable

import h11

NAME = "buggy-http-header-backtracking"
PROTOCOL = "http"
TRANSPORT = "tcp"
BUG = "a nested-quantifier regex checks field values: a long run ending in a control byte hangs"
CAUGHT_BY = "malformed"

MAX_BODY = 1 << 20  # 1 MiB, as the reference http server
MAX_HEAD = 16384
IDLE_TIMEOUT = 30.0  # seconds a keep-alive client may stay silent before it is dropped
SERVER = "wirefault-buggy/1"
# The accept loop wakes up this often so SIGTERM/SIGINT is acted on within it.
SIGNAL_POLL = 0.5

#: CPU seconds a child may burn before the kernel stops it (SIGXCPU).
CHILD_CPU_LIMIT = 5

log = logging.getLogger(NAME)

# BUG: "a value is visible characters, optionally separated by whitespace", written with a
# quantifier nested in another. On a value that fails to match only at its end (a long run
# of letters followed by a control byte that h11 lets through), the engine tries every way
# of cutting the run into pieces before giving up: 2^n steps for n letters. The child
# serving that client burns a core and never answers. Write it without nesting:
# rb"[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*" (or check bytes in a loop).
_VALUE = re.compile(rb"(?:[\x21-\x7e\x80-\xff]+[ \t]*)*")


class _Reject(Exception):
    """A request answered with an error status and a close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _read_request(sock: socket.socket, conn: h11.Connection) -> tuple[h11.Request, bytes] | None:
    """The next request and its body, or None if the client closed between requests."""
    request: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise _Reject(exc.error_status_hint, f"bad request: {exc}") from None
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Request):
            for name, value in event.headers:
                if not _VALUE.fullmatch(value):  # see _VALUE
                    raise _Reject(400, f"invalid characters in {name.decode()}")
            fields = dict(event.headers)
            if b"content-length" in fields and b"transfer-encoding" in fields:
                raise _Reject(400, "both Content-Length and Transfer-Encoding")
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _Reject(413, "request body too large")
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


def _respond(
    sock: socket.socket, conn: h11.Connection, status: int, body: bytes, *, head: bool = False
) -> None:
    """Send a complete response with a Content-Length body (only its headers for HEAD)."""
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    events: list[h11.Event] = [
        h11.Response(status_code=status, headers=[*headers, ("Server", SERVER)])
    ]
    if body and not head:
        events.append(h11.Data(data=body))
    events.append(h11.EndOfMessage())
    sock.sendall(b"".join(conn.send(event) or b"" for event in events))


def _answer(request: h11.Request, body: bytes) -> tuple[int, bytes]:
    """GET and HEAD greet, POST and PUT echo the body, anything else is 405."""
    if request.method in (b"GET", b"HEAD"):
        return 200, b"hello from wirefault\n"
    if request.method in (b"POST", b"PUT"):
        return 200, body
    return 405, b"method not allowed\n"


def _handle(sock: socket.socket) -> None:
    """Serve one keep-alive client until it closes or must be closed."""
    sock.settimeout(IDLE_TIMEOUT)
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    with sock:
        try:
            while True:
                try:
                    received = _read_request(sock, conn)
                except _Reject as reject:
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        _respond(sock, conn, reject.status, f"{reject}\n".encode())
                    return
                if received is None:
                    return
                request, body = received
                status, reply = _answer(request, body)
                _respond(sock, conn, status, reply, head=request.method == b"HEAD")
                if conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (OSError, h11.LocalProtocolError) as exc:
            log.warning("closing connection: %s", exc)


def _child(sock: socket.socket) -> None:
    """Serve one client in a forked child, under a CPU limit, then exit."""
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_LIMIT, CHILD_CPU_LIMIT))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _handle(sock)
    finally:
        os._exit(0)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, fork a child per client until signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    listener.settimeout(SIGNAL_POLL)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    try:
        ready(listener.getsockname()[:2])
        while True:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue  # see SIGNAL_POLL
            if os.fork() == 0:
                listener.close()
                _child(sock)
            sock.close()
    finally:
        listener.close()
