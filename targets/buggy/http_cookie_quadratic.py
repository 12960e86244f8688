"""An h11 HTTP/1.1 server that parses the Cookie header in quadratic time."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import h11

NAME = "buggy-http-cookie-quadratic"
PROTOCOL = "http"
TRANSPORT = "tcp"
BUG = "each cookie name is looked up in a list of those seen: a Cookie of n pairs costs n^2"
CAUGHT_BY = "growth"

MAX_BODY = 1 << 20  # 1 MiB, as the reference http server
MAX_HEAD = 256 * 1024  # generous: big cookies are welcome here
MAX_COOKIES = 4096  # pairs in one Cookie; more gets a 431
IDLE_TIMEOUT = 30.0  # seconds a keep-alive client may stay silent before it is dropped
SERVER = "wirefault-buggy/1"
# The accept loop wakes up this often so SIGTERM/SIGINT is acted on within it.
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


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
            fields = dict(event.headers)
            # BUG: h11 checks that an HTTP/1.1 request has exactly one Host, not that its
            # value is uri-host [":" port]; "a b", 'a"b' or "a/b" are served like any host.
            # RFC 9112 section 3.2 says such a request MUST get a 400: validate the value
            # (the reference server does, with RFC 3986's grammar).
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


def _cookies(request: h11.Request) -> list[tuple[bytes, bytes]]:
    """The request's cookies, first value of each name (RFC 6265 section 5.4)."""
    cookies: list[tuple[bytes, bytes]] = []
    for name, value in request.headers:
        if name != b"cookie":
            continue
        pairs = value.split(b";")
        if len(pairs) > MAX_COOKIES:
            raise _Reject(431, f"more than {MAX_COOKIES} cookies")
        for pair in pairs:
            key, _, val = pair.strip().partition(b"=")
            # BUG: a list scanned for every pair: n pairs cost n^2/2 comparisons, and a
            # 64 KiB Cookie (6,000 pairs) holds the interpreter for a second or more, every
            # other client included. Keep the names seen in a dict (or a set).
            if not any(key.lower() == seen.lower() for seen, _ in cookies):
                cookies.append((key, val))
    return cookies


def _answer(request: h11.Request, body: bytes) -> tuple[int, bytes]:
    """GET and HEAD greet (counting cookies), POST and PUT echo the body, others get 405."""
    if request.method in (b"GET", b"HEAD"):
        count = len(_cookies(request))
        return 200, b"hello from wirefault\n" + (b"%d cookies\n" % count if count else b"")
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
                try:
                    status, reply = _answer(request, body)
                except _Reject as reject:
                    status, reply = reject.status, f"{reject}\n".encode()
                _respond(sock, conn, status, reply, head=request.method == b"HEAD")
                if conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()
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
