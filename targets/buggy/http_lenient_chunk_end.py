"""An HTTP/1.1 server that skips the two bytes after chunk data without looking at them."""

# It reads each request's head with h11 (request line, fields, Host, Content-Length
# all checked) but decodes chunked bodies itself, as servers that stream uploads
# often do. After a chunk's data it drops two bytes, taking them for the CRLF the
# grammar puts there, whatever they are: "1\r\nAXX0\r\n\r\n" is read as the chunk
# "A" and the last chunk, and answered 200. h11 before 0.16 did exactly this
# (CVE-2025-43859). Behind a proxy that reads those bytes differently (as the start
# of the next chunk-size line, say) the two disagree on where the request ends, and
# the rest of the stream is taken for a request the proxy never saw: request smuggling.

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable

import h11

NAME = "buggy-http-lenient-chunk-end"
PROTOCOL = "http"
TRANSPORT = "tcp"
BUG = "the two bytes after chunk data are skipped unchecked: '1\\r\\nAXX0\\r\\n\\r\\n' gets a 200"
CAUGHT_BY = "strictness"

MAX_BODY = 1 << 20  # 1 MiB, as the reference http server
MAX_HEAD = 16384  # request line and fields
SERVER = "wirefault-buggy/1"
IDLE_TIMEOUT = 30.0  # seconds a keep-alive client may stay silent before it is dropped
# The accept loop wakes up this often so SIGTERM/SIGINT is acted on within it.
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)

_HEX = re.compile(rb"[0-9A-Fa-f]{1,8}")
#: uri-host [":" port], as the reference server checks it (RFC 9112 section 3.2).
_HOST = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|(?:[-A-Za-z0-9._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?"
)


class _Reject(Exception):
    """A request answered with an error status and a close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class _Stream:
    """The bytes a client sent that no request has used yet, read from its socket on demand."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def fill(self) -> bool:
        """Read more; False once the client has closed."""
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes (the client must send them)."""
        while len(self.buffer) < count:
            if not self.fill():
                raise _Reject(400, "the stream ended inside the body")
        taken = bytes(self.buffer[:count])
        del self.buffer[:count]
        return taken

    def line(self) -> bytes:
        """The next CRLF-terminated line, without its CRLF."""
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD or not self.fill():
                raise _Reject(400, "an unterminated chunk line")
        return self.take(end + 2)[:-2]

    def head(self) -> bytes | None:
        """The next request head, through its blank line; None if the client closed first."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise _Reject(431, "request head too large")
            if not self.fill():
                if self.buffer:
                    raise _Reject(400, "the stream ended inside a request head")
                return None
        return self.take(end + 4)


def _request(head: bytes) -> h11.Request:
    """The request a head holds, checked by h11 and for the two things h11 leaves to us."""
    parser = h11.Connection(h11.SERVER)
    parser.receive_data(head)
    try:
        event = parser.next_event()
    except h11.RemoteProtocolError as exc:
        raise _Reject(exc.error_status_hint, f"bad request: {exc}") from None
    if not isinstance(event, h11.Request):
        raise _Reject(400, "no request in the head")
    fields = dict(event.headers)
    if b"host" in fields and not _HOST.fullmatch(fields[b"host"]):
        raise _Reject(400, "invalid Host")
    if b"content-length" in fields and b"transfer-encoding" in fields:
        raise _Reject(400, "both Content-Length and Transfer-Encoding")
    return event


def _chunked_body(stream: _Stream) -> bytes:
    """A chunked body: sizes and chunk lines checked, but not what follows each chunk."""
    body = bytearray()
    while True:
        size_field = stream.line().split(b";", 1)[0]
        if not _HEX.fullmatch(size_field):
            raise _Reject(400, f"invalid chunk size {size_field[:20]!r}")
        size = int(size_field, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY:
            raise _Reject(413, "request body too large")
        body += stream.take(size)
        # BUG: these two bytes must be CRLF (RFC 9112 section 7.1); anything else is a
        # malformed body to refuse with 400. Check `stream.take(2) == b"\r\n"`.
        stream.take(2)
    while stream.line():
        pass  # trailer fields, up to the blank line that ends the body
    return bytes(body)


def _body(stream: _Stream, request: h11.Request) -> bytes:
    fields = dict(request.headers)
    if b"transfer-encoding" in fields:
        return _chunked_body(stream)  # h11 let through only "chunked"
    length = int(fields.get(b"content-length", b"0"))  # h11 checked it is digits
    if length > MAX_BODY:
        raise _Reject(413, "request body too large")
    return stream.take(length)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    405: "Method Not Allowed",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
}


def _response(status: int, body: bytes, *, head: bool = False, close: bool = False) -> bytes:
    reason = _REASONS.get(status, "Error")
    lines = [
        b"HTTP/1.1 %d %s" % (status, reason.encode()),
        b"Content-Type: text/plain",
        b"Content-Length: %d" % len(body),
        b"Server: " + SERVER.encode(),
    ]
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else body)


def _answer(request: h11.Request, body: bytes, close: bool) -> bytes:
    """GET and HEAD greet, POST and PUT echo the body, anything else is 405."""
    if request.method in (b"GET", b"HEAD"):
        head = request.method == b"HEAD"
        return _response(200, b"hello from wirefault\n", head=head, close=close)
    if request.method in (b"POST", b"PUT"):
        return _response(200, body, close=close)
    return _response(405, b"method not allowed\n", close=close)


def _closes(request: h11.Request) -> bool:
    connection = dict(request.headers).get(b"connection", b"").lower()
    return request.http_version != b"1.1" or b"close" in connection


def _refuse(sock: socket.socket, reject: _Reject) -> None:
    """Answer with the error and a close, after reading what the client still sends.

    Closing with unread bytes queued makes Linux send an RST, which can destroy the
    answer before the client reads it: half-close, and read until the client closes.
    """
    sock.sendall(_response(reject.status, f"{reject}\n".encode(), close=True))
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(2.0)
    while sock.recv(65536):
        pass


def _serve_client(sock: socket.socket) -> None:
    stream = _Stream(sock)
    while True:
        try:
            head = stream.head()
            if head is None:
                return
            request = _request(head)
            body = _body(stream, request)
        except _Reject as reject:
            _refuse(sock, reject)
            return
        close = _closes(request)
        sock.sendall(_answer(request, body, close))
        if close:
            return


def _handle(sock: socket.socket) -> None:
    """Serve one keep-alive client until it closes or must be closed."""
    sock.settimeout(IDLE_TIMEOUT)
    with sock:
        try:
            _serve_client(sock)
        except OSError as exc:
            log.info("closing connection: %s", exc)


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
