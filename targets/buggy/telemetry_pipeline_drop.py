"""A telemetry server whose length field sits at offset 4, behind a HELLO handshake."""

# Each frame is ``WT`` (magic), version 1, a type byte, a 2-byte big-endian body
# length (offset 4), then the body:
#
#     57 54 01 01 00 09 "wirefault"      HELLO   -> 57 54 01 81 00 07 "welcome"
#     57 54 01 02 00 04 "temp"           READ    -> 57 54 01 82 00 0a "value:temp"
#
# A connection must open with HELLO; a frame with another magic or version, or any
# frame before HELLO, closes it. Requests made of zeros before the length field (what
# lenfield generates without samples) are refused at once, so only sample requests
# (--requests) reach the bug. Fuzz it with (docs/ZOO.md):
#
#     wirefault fuzz tcp://127.0.0.1:0 --codec lenfield --length-offset 4 --length-bytes 2 \
#         --start 'wirefault serve buggy-telemetry-pipeline-drop --port {port}' \
#         --preamble 'WT\x01\x01\x00\x09wirefault' --requests telemetry.txt

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable

NAME = "buggy-telemetry-pipeline-drop"
PROTOCOL = "lenfield"
TRANSPORT = "tcp"
BUG = "after the handshake, bytes read past one valid frame are dropped: pipelined frames lost"
CAUGHT_BY = "pipelining"
#: What wirefault needs to speak to it (read by the zoo tests and docs/ZOO.md).
CODEC_OPTIONS = {"length_offset": 4, "length_bytes": 2}
PREAMBLE = (b"WT\x01\x01\x00\x09wirefault",)
REQUESTS = (b"WT\x01\x02\x00\x04temp", b"WT\x01\x02\x00\x04load", b"WT\x01\x02\x00\x06uptime")

_HEADER = struct.Struct(">2sBBH")
_MAGIC, _VERSION = b"WT", 1
_HELLO, _READ = 0x01, 0x02
MAX_BODY = 4096
SIGNAL_POLL = 0.5  # as the other zoo servers: SIGTERM is acted on within this long

log = logging.getLogger(NAME)


def _frame(kind: int, body: bytes) -> bytes:
    return _HEADER.pack(_MAGIC, _VERSION, kind, len(body)) + body


def _reply(kind: int, body: bytes) -> bytes:
    """The reply to one valid frame after the handshake."""
    if kind == _READ:
        return _frame(0x80 | _READ, b"value:" + body)
    return _frame(0xFF, b"unknown type")


def _handle(conn: socket.socket) -> None:
    """Serve one client: HELLO first, then one reply per frame."""
    buf = b""
    greeted = False
    with conn:
        try:
            while data := conn.recv(65536):
                buf += data
                while len(buf) >= _HEADER.size:
                    magic, version, kind, length = _HEADER.unpack(buf[: _HEADER.size])
                    if magic != _MAGIC or version != _VERSION or length > MAX_BODY:
                        return  # not our protocol: hang up
                    if len(buf) < _HEADER.size + length:
                        break  # wait for the rest of the body
                    body = buf[_HEADER.size : _HEADER.size + length]
                    if not greeted:
                        if kind != _HELLO or body != b"wirefault":
                            return
                        greeted = True
                        conn.sendall(_frame(0x80 | _HELLO, b"welcome"))
                        buf = buf[_HEADER.size + length :]
                        continue
                    conn.sendall(_reply(kind, body))
                    # BUG: the frame is cut from the buffer by throwing the buffer away, as
                    # if a read held one frame at most; frames the client pipelined behind
                    # it in the same read are lost. It should keep buf[_HEADER.size + length:].
                    buf = b""
        except OSError as exc:
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
                conn, _ = listener.accept()
            except TimeoutError:
                continue  # see SIGNAL_POLL
            threading.Thread(target=_handle, args=(conn,), daemon=True).start()
    finally:
        listener.close()
