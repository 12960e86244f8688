"""Sample requests (``--requests FILE``) and handshakes (``--preamble``), read and checked.

A request file is either

* text: one request per line in the ``--probe`` escape syntax (``PING\\r\\n``,
  ``\\x00\\x01``), blank lines and lines starting with ``#`` ignored; or
* a packet capture (pcap or pcapng, told apart by its first bytes): the bytes
  each client sent to the target's port, cut into requests by the codec (TCP),
  or each datagram sent to it (UDP).

Every sample must be whole requests of the codec: a line the codec cannot frame,
or one that ends inside a request, is a :class:`~wirefault.errors.UsageError`
naming the line and the codec's reason. A line holding several requests gives
several samples. For unframed codecs (``raw``) a line is one request as it is.

``wirefault proxy --record`` writes this text format (:func:`format_requests`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from wirefault.capture import client_streams, is_capture
from wirefault.codecs.base import Codec
from wirefault.errors import FrameError, UsageError
from wirefault.escapes import format_escaped, parse_escaped

__all__ = [
    "format_requests",
    "frame_requests",
    "load_preamble",
    "load_requests",
    "read_request_lines",
]


def read_request_lines(path: Path, *, what: str = "--requests") -> list[tuple[int, bytes]]:
    """The requests of a text request file, with their line numbers.

    Raises:
        UsageError: the file cannot be read, is not UTF-8, or a line has a bad escape.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(
            f"{what} {path}: not UTF-8 text (nor a pcap/pcapng capture); write binary bytes "
            "as \\xNN escapes"
        ) from None
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None
    lines: list[tuple[int, bytes]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            lines.append((number, parse_escaped(line)))
        except UsageError as exc:
            raise UsageError(f"{what} {path} line {number}: {exc}") from None
    return lines


def frame_requests(codec: Codec, data: bytes, where: str) -> list[bytes]:
    """Cut ``data`` into whole requests of ``codec`` (unframed codecs: ``data`` as it is).

    Raises:
        UsageError: the codec rejects the bytes, or they end inside a request;
            the message starts with ``where``.
    """
    if not codec.framed or codec.transport == "datagram":
        return [data]
    decoder = codec.request_decoder()
    frames: list[bytes] = []
    try:
        frames += decoder.feed(data)
    except FrameError as exc:
        raise UsageError(f"{where}: the {codec.name} codec cannot frame it: {exc}") from None
    try:
        decoder.feed(b"")
    except FrameError as exc:
        got = f"after {len(frames)} whole request(s) " if frames else ""
        raise UsageError(
            f"{where}: it ends {got}inside an unfinished {codec.name} request "
            f"({decoder.pending} bytes): {exc}"
        ) from None
    if not frames:
        raise UsageError(f"{where}: the {codec.name} codec finds no request in it")
    return _whole_requests(codec, data, frames, where)


def _whole_requests(codec: Codec, data: bytes, frames: list[bytes], where: str) -> list[bytes]:
    """The wire bytes of each request (frames may be canonical forms, not wire slices)."""
    if b"".join(frames) == data:
        return frames
    if len(frames) == 1:
        return [data]
    # A codec whose frames are not the wire bytes (a line without its newline):
    # find each request's end by feeding byte by byte.
    decoder = codec.request_decoder()
    out: list[bytes] = []
    start = 0
    for i in range(len(data)):
        if decoder.feed(data[i : i + 1]):
            out.append(data[start : i + 1])
            start = i + 1
    if start != len(data) or len(out) != len(frames):
        raise UsageError(f"{where}: cannot tell where each of its {len(frames)} requests ends")
    return out


def load_requests(
    path: Path, codec: Codec, *, port: int | None, transport: Literal["tcp", "udp"] = "tcp"
) -> tuple[bytes, ...]:
    """The sample requests in ``path`` (text or capture), each one whole request of ``codec``.

    Args:
        path: the request file.
        codec: cuts and checks the requests.
        port: the server's port, to pick a capture's streams (None: every captured one).
        transport: what to take from a capture: TCP streams or UDP datagrams.

    Raises:
        UsageError: unreadable or empty file, a capture with no stream to ``port``,
            or a request the codec cannot frame (the message says which and why).
    """
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise UsageError(f"--requests {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"--requests {path}: cannot read it: {exc.strerror or exc}") from None
    if is_capture(head):
        samples = _from_capture(path, codec, port, transport)
    else:
        samples = [
            frame
            for number, data in read_request_lines(path)
            for frame in frame_requests(codec, data, f"--requests {path} line {number}")
        ]
    if not samples:
        raise UsageError(
            f"--requests {path}: no request in it (one request per line, in the --probe "
            "escape syntax; blank lines and # comments are ignored)"
        )
    return tuple(samples)


def _from_capture(
    path: Path, codec: Codec, port: int | None, transport: Literal["tcp", "udp"]
) -> list[bytes]:
    streams = client_streams(path, port, transport)
    if not streams:
        to = f"{transport.upper()} port {port}" if port is not None else f"any {transport} server"
        raise UsageError(
            f"--requests {path}: the capture holds no {transport.upper()} traffic from a "
            f"client to {to}; was it recorded on the right interface and port?"
        )
    samples: list[bytes] = []
    for number, stream in enumerate(streams, start=1):
        where = f"--requests {path} stream {number} ({stream.client} -> {stream.server})"
        samples.extend(_cut_stream(codec, stream.data, where))
    return samples


def _cut_stream(codec: Codec, data: bytes, where: str) -> list[bytes]:
    """The whole requests of a captured stream; an unfinished last one (capture cut) is left out."""
    if not data:
        return []
    if not codec.framed or codec.transport == "datagram":
        return [data]
    decoder = codec.request_decoder()
    try:
        frames = decoder.feed(data)
    except FrameError as exc:
        raise UsageError(f"{where}: the {codec.name} codec cannot frame it: {exc}") from None
    complete = data[: len(data) - decoder.pending]
    return _whole_requests(codec, complete, frames, where) if frames else []


def load_preamble(text: str) -> tuple[bytes, ...]:
    """The handshake requests of ``--preamble TEXT`` (escape syntax) or ``@FILE``.

    ``@FILE`` is read like a text request file: one request per line, each sent in
    turn with its reply read before the next.

    Raises:
        UsageError: a bad escape, an unreadable file, or nothing to send.
    """
    if text.startswith("@"):
        path = Path(text[1:])
        requests = tuple(data for _n, data in read_request_lines(path, what="--preamble"))
        if not requests:
            raise UsageError(f"--preamble {text}: no request in the file")
        return requests
    data = parse_escaped(text)
    if not data:
        raise UsageError("--preamble is empty; give the bytes of the handshake to send")
    return (data,)


def format_requests(frames: Iterable[bytes]) -> str:
    """Requests as a text request file, one escaped line each."""
    return "".join(format_escaped(frame) + "\n" for frame in frames)
