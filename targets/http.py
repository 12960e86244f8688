"""A small HTTP/1.1 server over plain sockets, framed by h11, one thread per connection."""

from __future__ import annotations

import email.utils
import logging
import re
import socket
from http import HTTPStatus

import h11

from wirefault.targets._serving import (
    Ready,
    drain_before_close,
    listen_tcp,
    serve_thread_per_connection,
)

NAME = "http"
PROTOCOL = "http"
TRANSPORT = "tcp"

MAX_BODY = 1 << 20  # 1 MiB of request body; more gets 413
MAX_HEAD = 16384  # request line and headers; more is a malformed request (400)
CHUNK = 65536
SERVER = f"wirefault-targets/{NAME} (h11)"
INDEX = b"wirefault reference HTTP server\n"

log = logging.getLogger(NAME)

#: uri-host [":" port] (RFC 9112 section 3.2, RFC 3986 section 3.2.2): an IP literal in
#: brackets, or a reg-name / IPv4 address; h11 checks that Host is there once, not its value.
_HOST = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[-A-Za-z0-9._~!$&'()*+,;=:]+\]"
    rb"|(?:[-A-Za-z0-9._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?"
)


class BodyTooLarge(Exception):
    """The request body is, or announces to be, longer than MAX_BODY."""


def _next_event(conn: socket.socket, http: h11.Connection) -> object:
    """The next event from the client, reading the socket only when h11 needs more bytes.

    h11 does no I/O: it parses what it was given and says NEED_DATA when that is
    not enough. So requests split over many reads, or many requests in one
    read, need no special handling here.
    """
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            http.receive_data(conn.recv(CHUNK))  # b"" (EOF) is how h11 learns of a close
            continue
        return event


def _read_request(conn: socket.socket, http: h11.Connection) -> tuple[h11.Request, bytes] | None:
    """The next request and its body, or None once the client has closed between requests.

    Raises:
        h11.RemoteProtocolError: the request is malformed.
        BodyTooLarge: the body exceeds MAX_BODY.
    """
    request = _next_event(conn, http)
    if not isinstance(request, h11.Request):
        return None  # ConnectionClosed, or PAUSED after a "Connection: close" exchange
    _check_head(request)
    length = dict(request.headers).get(b"content-length")
    if length is not None and int(length) > MAX_BODY:
        raise BodyTooLarge  # refuse before reading a byte of it (h11 checked it is digits)
    if http.they_are_waiting_for_100_continue:
        conn.sendall(_send(http, h11.InformationalResponse(status_code=100, headers=[])))
    body = bytearray()
    while True:
        event = _next_event(conn, http)
        if isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise BodyTooLarge  # a chunked body announces no length: count as it comes
        elif isinstance(event, h11.EndOfMessage):
            return request, bytes(body)


def _check_head(request: h11.Request) -> None:
    """What RFC 9112 asks of a server and h11 leaves to us.

    Raises:
        h11.RemoteProtocolError: a Host that is not uri-host [":" port] (section 3.2),
            or both Content-Length and Transfer-Encoding (section 6.1 lets a server
            refuse it, and it must close afterwards anyway: we refuse and close).
    """
    fields = dict(request.headers)
    host = fields.get(b"host")
    if host is not None and not _HOST.fullmatch(host):
        raise h11.RemoteProtocolError(f"invalid Host {host!r}", error_status_hint=400)
    if b"content-length" in fields and b"transfer-encoding" in fields:
        raise h11.RemoteProtocolError(
            "both Content-Length and Transfer-Encoding", error_status_hint=400
        )


def _send(http: h11.Connection, event: h11.Event) -> bytes:
    """The bytes h11 produces for one event we send."""
    return http.send(event) or b""


def _response(
    http: h11.Connection,
    status: HTTPStatus,
    body: bytes,
    *,
    content_type: str = "text/plain; charset=utf-8",
    extra: tuple[tuple[str, str], ...] = (),
    head: bool = False,
) -> bytes:
    """A whole response with Date, Server and Content-Length set; headers only for HEAD."""
    headers = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Server", SERVER),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        *extra,
    ]
    wire = _send(http, h11.Response(status_code=status, headers=headers, reason=status.phrase))
    if body and not head:
        # Content-Length of a HEAD response is the GET body's, but no body follows it.
        wire += _send(http, h11.Data(data=body))
    return wire + _send(http, h11.EndOfMessage())


def _answer(http: h11.Connection, request: h11.Request, body: bytes) -> bytes:
    """The response to one complete request: the index, an echo, or an error."""
    path = request.target.split(b"?", 1)[0]
    if request.method in (b"POST", b"PUT"):
        return _response(http, HTTPStatus.OK, body, content_type="application/octet-stream")
    if request.method in (b"GET", b"HEAD"):
        head = request.method == b"HEAD"
        if path == b"/":
            return _response(http, HTTPStatus.OK, INDEX, head=head)
        return _response(http, HTTPStatus.NOT_FOUND, b"not found; try GET /\n", head=head)
    return _response(
        http,
        HTTPStatus.METHOD_NOT_ALLOWED,
        b"use GET, HEAD, POST or PUT\n",
        extra=(("Allow", "GET, HEAD, POST, PUT"),),
    )


def _refuse(conn: socket.socket, http: h11.Connection, status: HTTPStatus, why: str) -> None:
    """Answer a request we will not serve with ``status`` and ``Connection: close``."""
    log.info("refusing a request with %d: %s", status, why)
    # h11 lets a server answer a broken request as long as it has not started
    # a response yet; otherwise all that is left is to close.
    if http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
        text = f"{status.phrase}: {why}\n".encode()
        conn.sendall(_response(http, status, text, extra=(("Connection", "close"),)))
    drain_before_close(conn)


def _serve_client(conn: socket.socket) -> None:
    """Serve one connection's requests in order (keep-alive and pipelining) until it closes."""
    http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    while True:
        try:
            exchange = _read_request(conn, http)
        except h11.RemoteProtocolError as exc:
            _refuse(conn, http, HTTPStatus(exc.error_status_hint), str(exc))
            return
        except BodyTooLarge:
            _refuse(
                conn, http, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the limit is {MAX_BODY} bytes"
            )
            return
        if exchange is None:
            return  # the client closed between requests: every answer was sent
        conn.sendall(_answer(http, *exchange))
        if http.our_state is h11.MUST_CLOSE:
            return  # "Connection: close" or HTTP/1.0: h11 decided, we follow
        http.start_next_cycle()


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    listener = listen_tcp(host, port)
    try:
        ready(listener.getsockname()[:2])
        serve_thread_per_connection(listener, _serve_client)
    finally:
        listener.close()
