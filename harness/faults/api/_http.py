"""Toxiproxy's HTTP API on the standard library's threaded HTTP server.

::

    client ──HTTP──> ApiServer (one thread per connection) ──> ProxyRegistry ──> embedded proxies

Why ``http.server`` in threads rather than asyncio on the proxies' loop: the
standard library does the HTTP/1.1 framing (keep-alive, Content-Length), and
the embedded layer is already safe to call from any thread, so a handler is a
few lines around a :class:`ProxyRegistry` call; a slow or stuck API client
holds one thread of its own, never the loop that moves the proxies' bytes.

Statuses and bodies are Toxiproxy 2.12's (``api.go``; the routes are in
``_routes.py``): JSON answers, ``{"error", "status"}`` error bodies sent as
``text/plain`` with a newline (Go's ``http.Error``), 404 ``404 page not
found`` for an unknown path, 405 with an empty body for a known path and
another method, 403 for a User-Agent starting with ``Mozilla/``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from wirefault.faults.api._gojson import encode
from wirefault.faults.api._registry import Dialect, ProxyRegistry
from wirefault.faults.api._routes import Request, route
from wirefault.faults.api._toxics import ApiError, bad_body

__all__ = ["ApiServer"]

#: Longest request body read (Toxiproxy sets none; a proxy list is a few KiB).
MAX_BODY = 4 << 20
#: Seconds a connection may stay silent mid-request or between requests (Toxiproxy: 15).
READ_TIMEOUT = 15.0


class ApiServer(ThreadingHTTPServer):
    """Toxiproxy's API for the proxies of ``registry``, served from a background thread.

    Args:
        registry: the proxies to manage.
        host: address to bind (default loopback).
        port: port to bind (0: a free one; :attr:`port` tells which).

    Raises:
        OSError: the address cannot be bound.
    """

    # Handler threads are joined by close(), which first ends their connections.
    daemon_threads = False
    block_on_close = True
    # Allow a restart on the same port while old connections linger in TIME_WAIT.
    allow_reuse_address = True

    def __init__(self, registry: ProxyRegistry, host: str = "127.0.0.1", port: int = 8474) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.registry = registry
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _ApiHandler)

    @property
    def port(self) -> int:
        """The port the API listens on."""
        port: int = self.socket.getsockname()[1]
        return port

    def start(self) -> None:
        """Serve in a daemon thread until :meth:`close`."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="wirefault-api"
        )
        self._thread.daemon = True
        self._thread.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close(self) -> None:
        """Stop serving, end open connections, join the threads; idempotent."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:  # idle keep-alive connections would hold their threads
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.server_close()


class _ApiHandler(BaseHTTPRequestHandler):
    """One HTTP connection to the API."""

    server: ApiServer
    protocol_version = "HTTP/1.1"

    @property
    def registry(self) -> ProxyRegistry:
        """The proxies this API manages."""
        return self.server.registry

    timeout = READ_TIMEOUT

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: Toxiproxy logs requests only at debug level."""

    def _dispatch(self, method: str) -> None:
        # As gorilla/mux: the route first (404, 405 without the middlewares), then the
        # request id and the browser check, then the handler.
        self._body_read = False
        self._request_id = False
        # Decoded before it is split, as gorilla/mux matches: "a%2Fb" is two segments.
        segments = unquote(self.path.split("?", 1)[0]).split("/")[1:]
        dialect: Dialect = "toxiproxy"
        if segments[:1] == ["wirefault"] and len(segments) > 1:
            dialect, segments = "wirefault", segments[1:]
        found = route(segments, dialect)
        if found is None:
            self.reply_text(HTTPStatus.NOT_FOUND, "404 page not found\n")
            return
        methods, args = found
        handler = methods.get(method)
        if handler is None:
            self.reply(HTTPStatus.METHOD_NOT_ALLOWED, b"", None)
            return
        self._request_id = True
        if self.headers.get("User-Agent", "").startswith("Mozilla/"):
            self.reply_text(HTTPStatus.FORBIDDEN, "User agent not allowed\n")
            return
        try:
            handler(Request(self, args, dialect))
        except ApiError as exc:
            self.reply_error(exc)
        except Exception as exc:  # as Toxiproxy's apiError: anything else is a 500
            self.reply_error(ApiError(f"{type(exc).__name__}: {exc}", 500))

    # -- request and reply ------------------------------------------------------------------

    def read_body(self) -> bytes:
        """The request body (Content-Length or chunked), at most :data:`MAX_BODY` bytes.

        Raises:
            ApiError: 400 when it is larger.
        """
        self._body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise bad_body("http: request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return bytes(data)
            if len(data) + size > MAX_BODY:
                self.close_connection = True
                raise bad_body("http: request body too large")
            data += self.rfile.read(size)
            self.rfile.readline(8)

    def reply(self, status: int, body: bytes, content_type: str | None) -> None:
        """Send a complete answer, Toxiproxy's headers included."""
        if not self._body_read:
            with contextlib.suppress(ApiError, ValueError):
                self.read_body()  # keep the connection in step for the next request
        self.send_response_only(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if status >= 400 and content_type and content_type.startswith("text/plain"):
            self.send_header("X-Content-Type-Options", "nosniff")
        if self._request_id:
            self.send_header("X-Toxiproxy-Request-Id", _request_id())
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, value: object, status: int = HTTPStatus.OK) -> None:
        """A JSON answer (compact, as Go writes it)."""
        self.reply(status, encode(value).encode(), "application/json")

    def reply_text(self, status: int, text: str) -> None:
        """A plain-text answer, as Go's ``http.Error`` sends it."""
        self.reply(status, text.encode(), "text/plain; charset=utf-8")

    def reply_error(self, exc: ApiError) -> None:
        """Toxiproxy's error answer: ``{"error", "status"}`` as text, with a newline."""
        self.reply_text(exc.status, encode({"error": exc.message, "status": exc.status}) + "\n")

    def reply_empty(self) -> None:
        """204 No Content."""
        self.reply(HTTPStatus.NO_CONTENT, b"", None)


def _request_id() -> str:
    """A 20-character request id, shaped like Toxiproxy's (xid, base32hex)."""
    alphabet = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")
    return base64.b32encode(os.urandom(15)).decode().translate(alphabet)[:20]
