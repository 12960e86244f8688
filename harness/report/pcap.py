"""A replay's transcript as a classic libpcap file that Wireshark and tcpdump open.

The packets are synthesised from the transcript's events; nothing was
captured. Format choices:

* classic pcap, little-endian, magic ``0xa1b2c3d4`` (microseconds), version
  2.4, snaplen 262144, link type 101 (``LINKTYPE_RAW``): each record is a bare
  IPv4 packet, with correct IPv4 header checksums and TCP/UDP checksums over
  the pseudo-header;
* the client of connection ``n`` is ``127.0.0.1:40000+n``; the server is the
  replay's target when it is an IPv4 literal, else (a host name, IPv6, a unix
  socket) ``127.0.0.2`` with the target's port (9 when it has none);
* timestamps are the real times of the recorded events: when the play
  started (the transcript's ``started``, wall-clock) plus each event's time
  since then, made strictly increasing by one microsecond where several
  packets share an event. A replay file from before wirefault recorded the
  start has none: its first event is put at :data:`EPOCH_BASE`.

TCP (each connection gets its own fixed initial sequence numbers):
``open`` is SYN, SYN-ACK, ACK; ``send`` data from the client and ``recv``
data from the server are PSH-ACK segments of at most 65000 bytes, each
acknowledged by the peer; ``half_close`` and ``close`` are a client FIN,
``eof`` a server FIN, each acknowledged; ``abort`` is a client RST-ACK,
``rst`` a server RST-ACK; ``refused`` is a SYN answered by RST-ACK.

UDP (``codec_name == "datagram"`` or a ``udp://`` target): one datagram per
``send``, ``retry`` and ``recv`` event; a datagram longer than the IPv4
maximum of 65507 bytes is cut to it. Other events carry no packet.
"""

from __future__ import annotations

import ipaddress
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wirefault.errors import UsageError
from wirefault.replay import Replay
from wirefault.report.timeline import play_started
from wirefault.transcript import Event

__all__ = ["EPOCH_BASE", "LINKTYPE_RAW", "build_pcap", "write_pcap"]

#: 2024-01-01T00:00:00Z: where the events of a replay file without a start time begin.
EPOCH_BASE = 1_704_067_200
LINKTYPE_RAW = 101
SNAPLEN = 262_144
MAX_SEGMENT = 65_000
MAX_DATAGRAM = 65_507
CLIENT_IP = "127.0.0.1"
FALLBACK_SERVER_IP = "127.0.0.2"
FALLBACK_PORT = 9

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_PROTO_TCP, _PROTO_UDP = 6, 17
_MOD = 1 << 32


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class _Endpoint:
    ip: bytes
    port: int


def _ipv4(src: _Endpoint, dst: _Endpoint, proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,  # version 4, 5 words of header
        0,
        20 + len(payload),
        ident & 0xFFFF,
        0x4000,  # don't fragment
        64,
        proto,
        0,
        src.ip,
        dst.ip,
    )
    checksum = _checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def _pseudo(src: _Endpoint, dst: _Endpoint, proto: int, length: int) -> bytes:
    return struct.pack("!4s4sBBH", src.ip, dst.ip, 0, proto, length)


def _tcp(src: _Endpoint, dst: _Endpoint, seq: int, ack: int, flags: int, data: bytes) -> bytes:
    header = struct.pack(
        "!HHIIBBHHH", src.port, dst.port, seq % _MOD, ack % _MOD, 5 << 4, flags, 65535, 0, 0
    )
    checksum = _checksum(_pseudo(src, dst, _PROTO_TCP, 20 + len(data)) + header + data)
    return header[:16] + struct.pack("!H", checksum) + header[18:] + data


def _udp(src: _Endpoint, dst: _Endpoint, data: bytes) -> bytes:
    header = struct.pack("!HHHH", src.port, dst.port, 8 + len(data), 0)
    checksum = _checksum(_pseudo(src, dst, _PROTO_UDP, 8 + len(data)) + header + data) or 0xFFFF
    return header[:6] + struct.pack("!H", checksum) + data


class _TcpConn:
    """One connection's sequence numbers; yields (from_client, seq, ack, flags, data)."""

    def __init__(self, conn: int) -> None:
        self.client_isn = (1_000_000 * (conn + 1)) % _MOD
        self.server_isn = (3_000_000_000 + 1_000_000 * (conn + 1)) % _MOD
        self.cseq = self.client_isn
        self.sseq = self.server_isn
        self.opened = False

    def handshake(self) -> Iterator[tuple[bool, int, int, int, bytes]]:
        self.opened = True
        yield True, self.client_isn, 0, SYN, b""
        yield False, self.server_isn, self.client_isn + 1, SYN | ACK, b""
        self.cseq, self.sseq = self.client_isn + 1, self.server_isn + 1
        yield True, self.cseq, self.sseq, ACK, b""

    def packets(self, event: Event) -> Iterator[tuple[bool, int, int, int, bytes]]:
        what = event.what
        if what == "refused":
            yield True, self.client_isn, 0, SYN, b""
            yield False, 0, self.client_isn + 1, RST | ACK, b""
            return
        if what not in ("open", "send", "recv", "half_close", "close", "eof", "abort", "rst"):
            return
        if not self.opened:
            yield from self.handshake()
        if what in ("send", "recv"):
            yield from self.data(what == "send", event.data)
        elif what in ("half_close", "close"):
            yield True, self.cseq, self.sseq, FIN | ACK, b""
            self.cseq += 1
            yield False, self.sseq, self.cseq, ACK, b""
        elif what == "eof":
            yield False, self.sseq, self.cseq, FIN | ACK, b""
            self.sseq += 1
            yield True, self.cseq, self.sseq, ACK, b""
        elif what == "abort":
            yield True, self.cseq, self.sseq, RST | ACK, b""
        elif what == "rst":
            yield False, self.sseq, self.cseq, RST | ACK, b""

    def data(
        self, from_client: bool, payload: bytes
    ) -> Iterator[tuple[bool, int, int, int, bytes]]:
        for start in range(0, len(payload), MAX_SEGMENT):
            piece = payload[start : start + MAX_SEGMENT]
            if from_client:
                yield True, self.cseq, self.sseq, PSH | ACK, piece
                self.cseq += len(piece)
                yield False, self.sseq, self.cseq, ACK, b""
            else:
                yield False, self.sseq, self.cseq, PSH | ACK, piece
                self.sseq += len(piece)
                yield True, self.cseq, self.sseq, ACK, b""


def _server(replay: Replay) -> _Endpoint:
    address = replay.address
    port = address.port or FALLBACK_PORT
    try:
        ip = ipaddress.ip_address(address.host)
    except ValueError:
        ip = None
    if isinstance(ip, ipaddress.IPv4Address):
        return _Endpoint(ip.packed, port)
    return _Endpoint(ipaddress.IPv4Address(FALLBACK_SERVER_IP).packed, port)


def _client_base(server: _Endpoint) -> int:
    """40000, unless the server itself listens on 127.0.0.1:40000-40999."""
    same_ip = server.ip == ipaddress.IPv4Address(CLIENT_IP).packed
    return 50_000 if same_ip and 40_000 <= server.port < 41_000 else 40_000


def _packets(replay: Replay) -> Iterator[tuple[float, bytes]]:
    """(time, IPv4 packet) for every synthesised packet, in order."""
    server = _server(replay)
    base = _client_base(server)
    client_ip = ipaddress.IPv4Address(CLIENT_IP).packed
    udp = replay.codec_name == "datagram" or replay.address.transport == "udp"
    conns: dict[int, _TcpConn] = {}
    ident = 0
    for event in replay.events:
        if not isinstance(event.conn, int):
            continue
        client = _Endpoint(client_ip, (base + event.conn) % 65536)
        if udp:
            if event.what in ("send", "retry", "recv"):
                up = event.what != "recv"
                src, dst = (client, server) if up else (server, client)
                ident += 1
                body = _udp(src, dst, event.data[:MAX_DATAGRAM])
                yield event.t, _ipv4(src, dst, _PROTO_UDP, body, ident)
            continue
        state = conns.setdefault(event.conn, _TcpConn(event.conn))
        for from_client, seq, ack, flags, data in state.packets(event):
            src, dst = (client, server) if from_client else (server, client)
            ident += 1
            body = _tcp(src, dst, seq, ack if flags & ACK else 0, flags, data)
            yield event.t, _ipv4(src, dst, _PROTO_TCP, body, ident)


def build_pcap(replay: Replay) -> bytes:
    """The whole pcap file for ``replay`` (see the module docstring)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)]
    started = play_started(replay)
    base = round(started * 1_000_000) if started is not None else EPOCH_BASE * 1_000_000
    last = -1
    for t, packet in _packets(replay):
        offset = round(t * 1_000_000) if math.isfinite(t) and t > 0 else 0
        micros = max(base + offset, last + 1)
        last = micros
        secs, usecs = divmod(micros, 1_000_000)
        out.append(struct.pack("<IIII", secs, usecs, len(packet), len(packet)))
        out.append(packet)
    return b"".join(out)


def write_pcap(replay: Replay, path: str | Path) -> None:
    """Write :func:`build_pcap` of ``replay`` to ``path``.

    Raises:
        UsageError: ``path`` cannot be written; the message says why.
    """
    data = build_pcap(replay)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot write the pcap file {path}: {reason}; give a writable path"
        ) from None
