"""The ``http`` codec: HTTP/1.1 messages, parsed by h11.

All parsing is h11's; this module only turns h11 events into frames. A frame
is the *canonical form* of one message, so that two servers (or two plays)
that frame the same message differently compare equal::

    start line\\r\\n            (as received: "GET / HTTP/1.1", "HTTP/1.1 200 OK")
    name: value\\r\\n           (names lower-cased, in received order, then trailers)
    content-length: N\\r\\n     (always, last; Content-Length and Transfer-Encoding dropped)
    \\r\\n
    body                       (de-chunked)

Decisions:

* h11 runs one request/response *cycle* at a time and only reads the next
  message after ``start_next_cycle()``, which needs both sides DONE. A decoder
  sees only one side, so it plays the other with synthetic events sent into
  the void: the request decoder (server role) answers every request with a
  synthetic ``400`` (non-2xx, so it declines CONNECT and Upgrade and the stream
  stays HTTP); the response decoder (client role) sends a synthetic request
  whenever response bytes arrive while it is idle, so h11 expects a response.
  Its method is the one of the next request the client sent
  (:meth:`HttpResponseDecoder.note_sent`, which the runner calls with every
  byte it writes), so a response to ``HEAD`` is read without a body whatever
  its Content-Length says; ``GET`` when the requests sent cannot be parsed.
* Interim ``1xx`` responses are skipped: a frame is a final response, one per
  request.
* After a message that closes the connection (``Connection: close``,
  HTTP/1.0), further requests are ignored, as RFC 9112 section 9.6 requires of a
  server; further response bytes are a :class:`FrameError`. Except: an HTTP/1.0
  response with ``Connection: keep-alive`` and a delimited body keeps the
  connection (RFC 9112 section 9.3, the HTTP/1.0 keep-alive servers such as
  waitress still answer), so the response decoder reads on with a fresh parser;
  h11 itself never keeps an HTTP/1.0 connection.
* A message carrying both Content-Length and Transfer-Encoding is a
  :class:`FrameError` (a smuggling vector; RFC 9112 section 6.1 says to treat
  it as an error), although h11 would accept it.
* Limits: bodies up to ``max_frame`` (a larger Content-Length fails at once),
  start line plus headers up to :data:`MAX_HEAD` (h11's default), whatever the
  split (h11 itself only checks incomplete heads).
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import h11

from wirefault.codecs.base import Codec, Decoder, OptionValue, Transport
from wirefault.codecs.completion import Awaiting, message_completion
from wirefault.errors import CodecError, FrameError, UsageError

__all__ = ["MAX_HEAD", "HttpCodec", "HttpRequestDecoder", "HttpResponseDecoder"]

#: The most bytes of start line and headers h11 buffers (its default, 16 KiB).
MAX_HEAD = 16 * 1024

_FRAMING = (b"content-length", b"transfer-encoding")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST = ("Host", "wirefault")
_HEAD_TOO_LONG = f"start line and headers longer than {MAX_HEAD} bytes"


def _canonical(start: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> bytes:
    """The canonical form of one message (see the module docstring)."""
    lines = [start]
    lines += [name + b": " + value for name, value in headers if name not in _FRAMING]
    lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class _MessageDecoder(Decoder):
    """Shared h11 driving: events in, canonical frames out (see the module docstring)."""

    role: ClassVar[type[h11.CLIENT] | type[h11.SERVER]]
    what: ClassVar[str]  # "request" or "response", for messages
    head_state: ClassVar[type[h11.IDLE] | type[h11.SEND_RESPONSE]]  # theirs, before a head

    def __init__(self, max_frame: int) -> None:
        """Create a decoder for messages whose bodies hold at most ``max_frame`` bytes."""
        self._conn = h11.Connection(self.role, max_incomplete_event_size=MAX_HEAD)
        self._max = max_frame
        self._head: tuple[bytes, list[tuple[bytes, bytes]]] | None = None
        self._body = bytearray()
        self._fed = 0  # stream bytes fed so far
        self._start = 0  # stream offset of the current message
        self._closed = False  # the last message closed the connection

    @property
    def pending(self) -> int:
        """Bytes of the unfinished message (0 once the connection must close)."""
        return 0 if self._closed else self._fed - self._start

    def awaiting(self) -> Awaiting:
        """What the unfinished message needs (:data:`~wirefault.codecs.completion.Awaiting`)."""
        if not self.pending:
            return ("nothing", 0)
        if self._head is None:
            return ("head", 0)
        names = {name for name, _ in self._head[1]}
        if b"transfer-encoding" in names:
            return ("chunked", 0)
        length = next((int(v) for n, v in self._head[1] if n == b"content-length"), 0)
        return ("body", max(length - len(self._body), 0))

    def feed(self, data: bytes) -> list[bytes]:
        """Return the canonical messages ``data`` completes (``b""`` = end of stream).

        Raises:
            FrameError: h11 rejects the bytes, a limit is exceeded, or the
                stream ends inside a message.
            CodecError: data fed after end of stream (a caller's bug).
        """
        if self._closed:
            self._after_close(data)
            return []
        self._fed += len(data)
        try:
            self._conn.receive_data(data)
        except RuntimeError:
            raise CodecError("http: feed() called with data after end of stream") from None
        return self._drain(eof=not data)

    def _drain(self, *, eof: bool) -> list[bytes]:
        frames: list[bytes] = []
        while not self._closed:
            self._prepare()
            event = self._next_event(eof=eof)
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.ConnectionClosed):
                break
            if isinstance(event, (h11.Request, h11.Response)):
                self._begin(event)
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > self._max:
                    raise self._error(f"body exceeds max_frame={self._max} bytes")
            elif isinstance(event, h11.EndOfMessage):
                frames.append(self._finish(event, eof=eof))
            # InformationalResponse (1xx) is skipped: see the module docstring.
        return frames

    def _next_event(self, *, eof: bool) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        """h11's next event, with its errors and a split-independent head limit."""
        # h11 bounds a head only while it is incomplete, so whether a long head
        # fails would depend on the split: measure complete heads as well.
        head = self._conn.their_state is self.head_state
        before = len(self._conn.trailing_data[0]) if head else 0
        try:
            event = self._conn.next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:  # h11's "Receive buffer too long"
                raise self._error(_HEAD_TOO_LONG) from None
            raise self._error(f"stream ended inside a {self.what}" if eof else str(exc)) from None
        if head and before - len(self._conn.trailing_data[0]) > MAX_HEAD:
            raise self._error(_HEAD_TOO_LONG)
        return event

    def _begin(self, event: h11.Request | h11.Response) -> None:
        headers = list(event.headers)
        names = {name for name, _ in headers}
        if set(_FRAMING) <= names:
            raise self._error("both Content-Length and Transfer-Encoding (RFC 9112 section 6.1)")
        length = next((int(v) for n, v in headers if n == b"content-length"), 0)
        if length > self._max and b"transfer-encoding" not in names:
            raise self._error(f"Content-Length {length} exceeds max_frame={self._max}")
        if isinstance(event, h11.Request):
            start = b"%s %s HTTP/%s" % (event.method, event.target, event.http_version)
        else:
            start = b"HTTP/%s %d %s" % (event.http_version, event.status_code, event.reason)
        self._head = (start, headers)

    def _finish(self, event: h11.EndOfMessage, *, eof: bool) -> bytes:
        assert self._head is not None  # h11 sends EndOfMessage only after a head
        start, headers = self._head
        frame = _canonical(start, [*headers, *event.headers], bytes(self._body))
        self._head, self._body = None, bytearray()
        self._answer()
        buffered = bytes(self._conn.trailing_data[0])
        self._start = self._fed - len(buffered)
        if self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE:
            self._conn.start_next_cycle()
        elif self._persists(start, headers):
            self._conn = h11.Connection(self.role, max_incomplete_event_size=MAX_HEAD)
            if buffered:
                self._conn.receive_data(buffered)
            if eof:
                self._conn.receive_data(b"")  # to h11, b"" is the end of the stream
        else:
            self._closed = True
            self._after_close(buffered)
        return frame

    def _persists(self, start: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether a message h11 closes the connection after keeps it after all (hook)."""
        return False

    def _prepare(self) -> None:
        """Put h11 in a state to read the next message (hook)."""

    def _answer(self) -> None:
        """Play our side of the cycle once their message is complete (hook)."""

    def _after_close(self, data: bytes) -> None:
        """Handle bytes received after a message that closed the connection (hook)."""

    def _send(self, *events: h11.Event) -> None:
        """Send synthetic events; their bytes are discarded."""
        try:
            for event in events:
                self._conn.send(event)
        except h11.LocalProtocolError as exc:
            raise self._error(f"cannot continue after this {self.what}: {exc}") from None

    def _error(self, problem: str) -> FrameError:
        return FrameError(
            f"http: {problem}, in the {self.what} at stream offset {self._start}; "
            "the peer is not speaking HTTP/1.1 correctly (check --codec)",
            offset=self._start,
        )


class HttpRequestDecoder(_MessageDecoder):
    """Reads requests as a server does (h11 in the server role)."""

    role = h11.SERVER
    what = "request"
    head_state = h11.IDLE

    def _answer(self) -> None:
        self._send(
            h11.Response(status_code=400, headers=[("Content-Length", "0")]), h11.EndOfMessage()
        )


class _SentMethods:
    """The methods of the requests a client sent, in order, parsed as a server would.

    Parsing stops for good at the first request h11 refuses (a malformed one),
    or after one that closes the connection: the responses after it are then
    read as answers to GET.
    """

    #: Heads up to this size are parsed (growth sends 64 KiB header fields).
    _MAX_HEAD = 1 << 20

    def __init__(self) -> None:
        self._conn: h11.Connection | None = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._MAX_HEAD
        )
        self.methods: deque[bytes] = deque()

    def feed(self, data: bytes) -> None:
        if self._conn is None or not data:
            return
        try:
            self._conn.receive_data(data)
            while self._conn is not None:
                event = self._conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return
                if isinstance(event, h11.Request):
                    self.methods.append(event.method)
                elif isinstance(event, h11.EndOfMessage):
                    self._next_cycle()
        except (h11.ProtocolError, RuntimeError):
            self._conn = None

    def _next_cycle(self) -> None:
        assert self._conn is not None
        self._conn.send(h11.Response(status_code=400, headers=[("Content-Length", "0")]))
        self._conn.send(h11.EndOfMessage())
        if self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE:
            self._conn.start_next_cycle()
        else:
            self._conn = None


class HttpResponseDecoder(_MessageDecoder):
    """Reads responses as a client does (h11 in the client role)."""

    role = h11.CLIENT
    what = "response"
    head_state = h11.SEND_RESPONSE

    def __init__(self, max_frame: int) -> None:
        """Create a decoder for responses whose bodies hold at most ``max_frame`` bytes."""
        super().__init__(max_frame)
        self._sent = _SentMethods()

    def note_sent(self, data: bytes) -> None:
        """Track the requests sent, so each response is read as the answer to its own."""
        self._sent.feed(data)

    def _prepare(self) -> None:
        # A response may only arrive after a request: send one when bytes wait.
        if self._conn.our_state is h11.IDLE and self._conn.trailing_data[0]:
            methods = self._sent.methods
            method = methods.popleft() if methods else b"GET"
            self._send(h11.Request(method=method, target="/", headers=[_HOST]), h11.EndOfMessage())

    def _persists(self, start: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
        # h11 delivered its end before EOF, so the body was delimited: an HTTP/1.0
        # response asking for keep-alive (and not also for close) keeps the connection.
        if not start.startswith(b"HTTP/1.0 "):
            return False
        tokens = {
            token.strip().lower()
            for name, value in headers
            if name == b"connection"
            for token in value.split(b",")
        }
        return b"keep-alive" in tokens and b"close" not in tokens

    def _after_close(self, data: bytes) -> None:
        if data:
            raise self._error(
                f"{len(data)} bytes {data[:40]!r} after a response that closes the connection"
            )


@dataclass(frozen=True)
class HttpCodec(Codec):
    """HTTP/1.1: requests are POSTs carrying the payload as body.

    Attributes:
        max_frame: the largest body, sent or received (default 1 MiB).
        volatile_headers: comma-separated header names :meth:`normalise` drops
            (default ``"date,server"``).
    """

    name: ClassVar[str] = "http"
    transport: ClassVar[Transport] = "stream"

    max_frame: int = 1 << 20
    volatile_headers: str = "date,server"

    def __post_init__(self) -> None:
        if self.max_frame < 1:
            raise UsageError(f"http: max_frame must be >= 1, got {self.max_frame}")
        for name in self.volatile_headers.split(","):
            if name.strip() and not _TOKEN.fullmatch(name.strip()):
                raise UsageError(
                    f"http: volatile_headers must be comma-separated header names, "
                    f"got {name.strip()!r} in {self.volatile_headers!r} (e.g. 'date,server,etag')"
                )

    @functools.cached_property
    def _volatile(self) -> frozenset[bytes]:
        names = (n.strip().lower() for n in self.volatile_headers.split(","))
        return frozenset(n.encode("ascii") for n in names if n)

    def options(self) -> Mapping[str, OptionValue]:
        """``{"max_frame": ..., "volatile_headers": ...}``."""
        return {"max_frame": self.max_frame, "volatile_headers": self.volatile_headers}

    def encode(self, payload: bytes) -> bytes:
        """Return ``POST /wirefault HTTP/1.1`` with Host, Content-Length and ``payload``.

        Raises:
            CodecError: ``payload`` is longer than :attr:`max_frame`.
        """
        if len(payload) > self.max_frame:
            raise CodecError(
                f"http: payload of {len(payload)} bytes exceeds max_frame={self.max_frame}; "
                "pass a shorter payload or raise --max-frame"
            )
        headers = [_HOST, ("Content-Length", str(len(payload)))]
        request = h11.Request(method="POST", target="/wirefault", headers=headers)
        return self._write(request, payload)

    def probe(self) -> bytes:
        """``GET / HTTP/1.1`` with a Host header."""
        return self._write(h11.Request(method="GET", target="/", headers=[_HOST]), b"")

    @staticmethod
    def _write(request: h11.Request, body: bytes) -> bytes:
        conn = h11.Connection(h11.CLIENT)
        wire = conn.send(request)
        if body:
            wire += conn.send(h11.Data(data=body))
        return wire + conn.send(h11.EndOfMessage())

    def normalise(self, frame: bytes) -> bytes:
        """Drop the ``volatile_headers`` lines from a canonical frame."""
        head, sep, body = frame.partition(b"\r\n\r\n")
        if not sep:
            return frame
        start, *lines = head.split(b"\r\n")
        kept = [line for line in lines if line.split(b":", 1)[0].lower() not in self._volatile]
        return b"\r\n".join([start, *kept]) + sep + body

    def completion(self, prefix: bytes, *, limit: int) -> bytes | None:
        """The rest of the last request: its head ended, its Content-Length body filled."""

        def awaiting(data: bytes) -> Awaiting:
            # Lenient: any body size (the head limit stays, h11's own).
            decoder = HttpRequestDecoder(max_frame=1 << 62)
            try:
                decoder.feed(data)
            except FrameError:
                return None
            return decoder.awaiting()

        return message_completion(prefix, limit=limit, awaiting=awaiting)

    def request_decoder(self) -> Decoder:
        """An :class:`HttpRequestDecoder` (h11 server role)."""
        return HttpRequestDecoder(self.max_frame)

    def response_decoder(self) -> Decoder:
        """An :class:`HttpResponseDecoder` (h11 client role)."""
        return HttpResponseDecoder(self.max_frame)
