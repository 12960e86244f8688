"""Reading a recorded session (pcap or pcapng) into what its clients sent to a server.

``client_streams(path, port, transport)`` returns, for TCP, the client-to-server
bytes of each connection to ``port`` (segments put in sequence order, duplicates
and retransmissions dropped, a gap ending the stream), and for UDP each datagram
sent to ``port``. The server side of a TCP connection is the destination of its
SYN; with ``port=None`` every connection whose SYN was captured counts.

Parsing is dpkt's (``pip install 'wirefault[pcap]'``): a small pure-Python
library that reads pcap and pcapng and the link layers a loopback capture uses
(Ethernet, Linux cooked v1 and v2, raw IP, BSD loopback).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wirefault.errors import UsageError

__all__ = ["ClientStream", "client_streams", "is_capture"]

#: The first four bytes of a pcap file (either byte order, micro or nano) or pcapng.
_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)
_SYN, _ACK = 0x02, 0x10


def is_capture(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a pcap or pcapng file."""
    return head[:4] in _MAGICS


@dataclass
class ClientStream:
    """What one client sent to the server, in order.

    Attributes:
        client: ``HOST:PORT`` of the client.
        server: ``HOST:PORT`` of the server.
        data: the bytes sent (TCP) or the datagram (UDP).
        gap: for TCP, whether bytes are missing from the capture (data stops there).
    """

    client: str
    server: str
    data: bytes = b""
    gap: bool = False


@dataclass
class _Segments:
    """The client-to-server segments of one TCP connection, by sequence number."""

    client: str
    server: str
    isn: int | None = None  # the SYN's sequence number, when captured
    parts: list[tuple[int, bytes]] = field(default_factory=list)

    def stream(self) -> ClientStream:
        base = self.isn + 1 if self.isn is not None else min(s for s, _ in self.parts)
        out = bytearray()
        gap = False
        for seq, data in sorted(((s - base) % (1 << 32), d) for s, d in self.parts):
            if seq > len(out):
                gap = True  # a segment the capture missed: what follows cannot be placed
                break
            out += data[len(out) - seq :]
        return ClientStream(self.client, self.server, bytes(out), gap)


def client_streams(
    path: Path, port: int | None, transport: Literal["tcp", "udp"]
) -> list[ClientStream]:
    """The client-to-server streams (TCP) or datagrams (UDP) to ``port`` in the capture.

    Raises:
        UsageError: dpkt is missing, or the file is not a capture dpkt can read.
    """
    try:
        import dpkt
    except ImportError:
        raise UsageError(
            f"{path} is a packet capture; reading one needs dpkt: pip install 'wirefault[pcap]'"
        ) from None
    connections: dict[tuple[str, str], _Segments] = {}
    ended: list[_Segments] = []  # connections whose client port a later SYN reused
    datagrams: list[ClientStream] = []
    try:
        with path.open("rb") as f:
            reader = dpkt.pcap.UniversalReader(f)
            decode = _link_decoder(dpkt, reader.datalink())
            for frame in _frames(dpkt, reader):
                packet = decode(frame)
                if packet is None:
                    continue
                if transport == "udp":
                    datagrams.extend(_datagram(dpkt, packet, port))
                else:
                    _segment(dpkt, packet, port, connections, ended)
    except (ValueError, dpkt.dpkt.Error) as exc:
        raise UsageError(
            f"cannot read the packet capture {path} (is it damaged or cut short?): {exc}"
        ) from None
    if transport == "udp":
        return datagrams
    return [c.stream() for c in [*ended, *connections.values()] if c.parts]


def _frames(dpkt: Any, reader: Any) -> Iterator[bytes]:
    """Each captured frame; a last record cut short (a capture stopped mid-write) ends it."""
    records = iter(reader)
    while True:
        try:
            _ts, frame = next(records)
        except StopIteration:
            return
        except dpkt.dpkt.NeedData:
            return
        yield frame


def _link_decoder(dpkt: Any, link: int) -> Any:
    """A function from a link-layer frame to its IP packet (or None), for link type ``link``."""
    ethernet, cooked, cooked2 = 1, 113, 276
    raw = (12, 14, 101)  # DLT_RAW's values across systems, and LINKTYPE_RAW
    ipv4, ipv6 = 228, 229
    loopback = (0, 108)  # BSD loopback and OpenBSD's

    def payload(layer: Any) -> Any:
        inner = layer.data
        return inner if isinstance(inner, dpkt.ip.IP | dpkt.ip6.IP6) else None

    if link == ethernet:
        return lambda frame: payload(dpkt.ethernet.Ethernet(frame))
    if link == cooked:
        return lambda frame: payload(dpkt.sll.SLL(frame))
    if link == cooked2:
        return lambda frame: payload(dpkt.sll2.SLL2(frame))
    if link in loopback:
        return lambda frame: payload(dpkt.loopback.Loopback(frame))
    if link in (*raw, ipv4, ipv6):
        return _raw_ip(dpkt)
    raise UsageError(
        f"the capture's link type is {link}; wirefault reads Ethernet, Linux cooked "
        "(tcpdump -i any), raw IP and loopback captures"
    )


def _raw_ip(dpkt: Any) -> Any:
    def decode(frame: bytes) -> Any:
        version = frame[0] >> 4 if frame else 0
        if version == 4:
            return dpkt.ip.IP(frame)
        if version == 6:
            return dpkt.ip6.IP6(frame)
        return None

    return decode


def _endpoints(dpkt: Any, packet: Any, layer: Any) -> tuple[str, str]:
    import socket

    family = socket.AF_INET6 if isinstance(packet, dpkt.ip6.IP6) else socket.AF_INET
    src = socket.inet_ntop(family, packet.src)
    dst = socket.inet_ntop(family, packet.dst)
    if family == socket.AF_INET6:
        src, dst = f"[{src}]", f"[{dst}]"
    return f"{src}:{layer.sport}", f"{dst}:{layer.dport}"


def _datagram(dpkt: Any, packet: Any, port: int | None) -> Iterator[ClientStream]:
    udp = packet.data
    if isinstance(udp, dpkt.udp.UDP) and (port is None or udp.dport == port):
        client, server = _endpoints(dpkt, packet, udp)
        yield ClientStream(client, server, bytes(udp.data))


def _segment(
    dpkt: Any,
    packet: Any,
    port: int | None,
    connections: dict[tuple[str, str], _Segments],
    ended: list[_Segments],
) -> None:
    tcp = packet.data
    if not isinstance(tcp, dpkt.tcp.TCP):
        return
    client, server = _endpoints(dpkt, packet, tcp)
    syn = tcp.flags & _SYN and not tcp.flags & _ACK
    if port is not None and tcp.dport != port:
        return
    key = (client, server)
    if syn:
        previous = connections.get(key)
        if previous is not None and previous.isn != tcp.seq:
            ended.append(previous)  # the client port is reused by a new connection
        if previous is None or previous.isn != tcp.seq:
            connections[key] = _Segments(client, server, isn=tcp.seq)
        return
    known = connections.get(key)
    if known is None:
        if port is None:
            return  # without the SYN, which side is the server is unknown
        known = connections[key] = _Segments(client, server)
    if tcp.data:
        known.parts.append((tcp.seq, bytes(tcp.data)))
