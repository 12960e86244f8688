"""An h11 HTTP/1.1 server that starts a new parser for each request, losing pipelined ones."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import h11

NAME = "buggy-http-one-request-per-read"
PROTOCOL = "http"
TRANSPORT = "tcp"
BUG = "a fresh h11 parser per request: pipelined requests already read are dropped"
CAUGHT_BY = "pipelining"

MAX_BODY = 1 << 20  # 1 MiB, as the reference http server
MAX_HEAD = 65536  # bytes of request line and headers
IDLE_TIMEOUT = 30.0  # seconds a keep-alive client may stay silent before it is dropped
SERVER = "wirefault-buggy/1"

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _Reject(Exception):
    """A request the server answers with an error status and a close."""

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
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _Reject(413, "request body too large")
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            return None


def _respond(
    sock: socket.socket, conn: h11.Connection, status: int, body: bytes, *, head: bool = False
) -> None:
    """Send a complete response with a Content-Length body (only its headers for HEAD)."""
    headers = [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
        ("Server", SERVER),
    ]
    events: list[h11.Event] = [h11.Response(status_code=status, headers=headers)]
    if body and not head:
        events.append(h11.Data(data=body))
    events.append(h11.EndOfMessage())
    sock.sendall(b"".join(conn.send(event) or b"" for event in events))


def _answer(request: h11.Request, body: bytes) -> tuple[int, bytes]:
    """Status and body for a request: GET greets, POST and PUT echo the body."""
    if request.method in (b"GET", b"HEAD"):
        return 200, b"hello from wirefault\n"
    if request.method in (b"POST", b"PUT"):
        return 200, body
    return 405, b"method not allowed\n"


def _handle(sock: socket.socket) -> None:
    """Serve one keep-alive client until it closes or must be closed."""
    sock.settimeout(IDLE_TIMEOUT)
    with sock:
        try:
            while True:
                # BUG: a new h11.Connection for every request. h11 buffers whatever recv()
                # returned beyond the current request (a pipelined request, or part of one);
                # throwing the old parser away throws those bytes away, so a client that
                # pipelines gets one response and waits forever for the rest. The right way
                # is one h11.Connection per socket and conn.start_next_cycle() between
                # requests, which keeps the buffered bytes.
                conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
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
                if conn.our_state is h11.MUST_CLOSE:
                    return
        except (OSError, h11.LocalProtocolError) as exc:
            log.warning("closing connection: %s", exc)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    listener.settimeout(SIGNAL_POLL)
    try:
        ready(listener.getsockname()[:2])
        while True:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue  # see SIGNAL_POLL
            threading.Thread(target=_handle, args=(sock,), daemon=True).start()
    finally:
        listener.close()
