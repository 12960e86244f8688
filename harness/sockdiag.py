"""What a server on this machine has done with our bytes, seen through Linux socket diagnostics.

The runner cannot see a server's ``recv()`` calls, but the kernel can: the
server's end of a loopback TCP connection is a socket on this machine, and
``sock_diag`` (the netlink interface ``ss`` uses) reports its receive queue
(bytes arrived but not yet read by the server) and its ``tcp_info`` (bytes
received in all). So the bytes the server has *read* are ``bytes_received -
receive queue``. One exact lookup by the connection's four-tuple costs a few
microseconds, cheap enough to poll (``/proc/net/tcp`` takes milliseconds).

For an AF_UNIX stream the sender's own socket tells: a sent buffer stays
charged to the sender until the reader has consumed it, so ``SIOCOUTQ`` on our
socket is 0 exactly when the server has read everything we wrote.

Nothing here raises for what the kernel cannot show: a server in another
network namespace, on another host, or a kernel without ``sock_diag`` (or a
sandbox that forbids netlink) gives ``None``, and callers fall back to pauses.

::

    client socket ──bytes──> server socket: [receive queue | read by the server]
         ^                                     idiag_rqueue   bytes_received - rqueue
         └── SIOCOUTQ (AF_UNIX: bytes the server has not consumed yet)
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import socket
import struct
import termios
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AckWatch",
    "DiagSocket",
    "PeerWatch",
    "PortSocket",
    "TcpPeer",
    "TcpWatch",
    "UdpWatch",
    "UnixWatch",
    "watch_datagrams",
    "watch_peer",
]

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 1
NLM_F_DUMP = 0x300
INET_DIAG_INFO = 2
#: ``sock_diag_check_cookie`` skips the cookie check for this value.
_NO_COOKIE = 0xFFFFFFFF
_ALL_STATES = 0xFFFFFFFF
TCP_LISTEN = 10
SIOCOUTQ = termios.TIOCOUTQ  # the same ioctl number on Linux

_NLMSGHDR = struct.Struct("=IHHII")
_REQ_HEAD = struct.Struct("=BBBxI")  # family, protocol, ext, pad, states
_MSG_HEAD = struct.Struct("=BBBB")  # family, state, timer, retrans
_PORTS = struct.Struct("!HH")
_QUEUES = struct.Struct("=IIIII")  # expires, rqueue, wqueue, uid, inode
_RTATTR = struct.Struct("=HH")
_SOCKID_SIZE = 48  # sport, dport, src[16], dst[16], if, cookie[2]
_MSG_SIZE = 4 + _SOCKID_SIZE + _QUEUES.size
#: Offset of ``tcpi_bytes_received`` in ``struct tcp_info`` (Linux 4.1 and later).
_BYTES_RECEIVED = struct.Struct("=Q")
_BYTES_RECEIVED_AT = 128
#: ``tcpi_bytes_acked`` and ``tcpi_bytes_received``, side by side.
_BYTES_ACKED_RECEIVED = struct.Struct("=QQ")
_BYTES_ACKED_AT = 120
#: Every TCP state but TIME_WAIT (6, no counters left) and LISTEN (10).
_CONNECTED_STATES = _ALL_STATES & ~(1 << 6) & ~(1 << TCP_LISTEN)


@dataclass(frozen=True)
class TcpPeer:
    """The server's end of one TCP connection, as the kernel reports it.

    Attributes:
        state: the TCP state number (1 established, 8 close-wait, ...).
        unread: bytes in its receive queue, arrived but not yet read by the server.
        unacked: bytes the server has written that we have not acknowledged yet.
        received: bytes it has received in all (``tcpi_bytes_received``).
        inode: the socket's inode: a process holding it has ``socket:[inode]`` open.
    """

    state: int
    unread: int
    unacked: int
    received: int
    inode: int = 0

    @property
    def read(self) -> int:
        """Bytes the server application has read from the connection so far."""
        return self.received - self.unread


@dataclass(frozen=True)
class PortSocket:
    """One connected socket on a server's port (the server's end of a connection).

    Counters are the kernel's, and a FIN counts as one byte in them: ``received``
    and ``unread`` include a FIN received (states 8 close-wait, 9 last-ack, 11
    closing), ``acked`` includes a FIN of ours acknowledged (5 fin-wait-2).

    Attributes:
        cookie: the kernel's unique id of the socket.
        state: the TCP state number.
        unread: bytes arrived that the server has not read yet.
        unacked: bytes the server has written that the peer has not acknowledged.
        received: bytes received in all (``tcpi_bytes_received``).
        acked: bytes written that the peer acknowledged (``tcpi_bytes_acked``).
    """

    cookie: int
    state: int
    unread: int
    unacked: int
    received: int
    acked: int
    #: The kernel's ``inet_diag_sockid`` (ports, addresses, cookie): looks it up again.
    sockid: bytes = field(default=b"", compare=False, repr=False)

    @property
    def peer_port(self) -> int:
        """The port of the other end (0: unknown, no ``sockid``)."""
        return _PORTS.unpack_from(self.sockid)[1] if len(self.sockid) >= _PORTS.size else 0


class DiagSocket:
    """A netlink ``sock_diag`` socket: exact lookups of TCP sockets on this machine.

    Open one with :meth:`open` (None where netlink is unavailable); close it
    when done (or use it as a context manager).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._seq = 0

    @classmethod
    def open(cls) -> DiagSocket | None:
        """A new diagnostics socket, or None when this system does not offer one."""
        family = getattr(socket, "AF_NETLINK", None)
        if family is None:  # not Linux
            return None
        try:
            sock = socket.socket(family, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
        except OSError:
            return None
        try:
            sock.bind((0, 0))
            sock.settimeout(1.0)  # the kernel answers at once; never hang on it
        except OSError:
            sock.close()
            return None
        return cls(sock)

    def __enter__(self) -> DiagSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the netlink socket; idempotent."""
        self._sock.close()

    def tcp_request(self, sock: socket.socket) -> bytes | None:
        """The lookup request for the far end of connected TCP socket ``sock`` (None: not TCP/IP).

        Built once per connection and passed to :meth:`tcp_peer` at every poll.
        """
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        try:
            local = sock.getsockname()
            remote = sock.getpeername()
        except OSError:
            return None
        src = _packed_ip(sock.family, remote[0])
        dst = _packed_ip(sock.family, local[0])
        sockid = (
            _PORTS.pack(remote[1], local[1])
            + src
            + dst
            + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
        )
        ext = 1 << (INET_DIAG_INFO - 1)
        return _REQ_HEAD.pack(sock.family, socket.IPPROTO_TCP, ext, _ALL_STATES) + sockid

    def udp_request(self, sock: socket.socket, peer: tuple[Any, ...] | None = None) -> bytes | None:
        """The lookup of the socket that receives what UDP socket ``sock`` sends to ``peer``.

        A UDP lookup is made as for an incoming datagram: from our address and
        port to the server's. ``peer`` defaults to the address ``sock`` is connected
        to. An unconnected socket bound to the wildcard address sends to a loopback
        server from that loopback address. None when the lookup cannot be made.
        """
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        try:
            local = sock.getsockname()
            remote = peer if peer is not None else sock.getpeername()
        except OSError:
            return None
        if local[1] == 0:
            return None  # not bound yet: no port to look up from
        sockid = (
            _PORTS.pack(local[1], remote[1])
            + _packed_ip(sock.family, local[0])
            + _packed_ip(sock.family, remote[0])
            + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
        )
        return _REQ_HEAD.pack(sock.family, socket.IPPROTO_UDP, 0, _ALL_STATES) + sockid

    def udp_queues(self, request: bytes) -> tuple[int, int, int] | None:
        """Receive and send queues (buffer bytes) of the socket a :meth:`udp_request` finds,
        and its inode."""
        reply = self._ask(request)
        if reply is None:
            return None
        length, kind = _NLMSGHDR.unpack_from(reply)[:2]
        if kind != SOCK_DIAG_BY_FAMILY or length < _NLMSGHDR.size + _MSG_SIZE:
            return None
        unread, unsent, _, inode = _QUEUES.unpack_from(reply, _NLMSGHDR.size + 4 + _SOCKID_SIZE)[1:]
        return unread, unsent, inode

    def tcp_peer(self, request: bytes) -> TcpPeer | None:
        """The server's socket for a :meth:`tcp_request`, or None when it is not on this machine."""
        reply = self._ask(request)
        return None if reply is None else _parse_tcp(reply, request)

    def port_sockets(
        self, family: int, port: int, *, listening: bool = False
    ) -> list[PortSocket] | None:
        """Every connected TCP socket whose local port is ``port`` (None: cannot be seen).

        One dump, filtered by the kernel on the port; TIME_WAIT sockets (which
        have no counters) and listeners are left out (``listening``: only the
        listeners). The kernel walks every TCP socket of the machine for it, so
        its cost grows with them: about 1 ms with 2,000, 10 ms with 37,000 (most
        of them closed connections in TIME_WAIT, after a long test run).
        """
        sockid = _PORTS.pack(port, 0) + bytes(32) + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
        ext = 1 << (INET_DIAG_INFO - 1)
        states = 1 << TCP_LISTEN if listening else _CONNECTED_STATES
        request = _REQ_HEAD.pack(family, socket.IPPROTO_TCP, ext, states) + sockid
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), SOCK_DIAG_BY_FAMILY,
                                NLM_F_REQUEST | NLM_F_DUMP, self._seq, 0)  # fmt: skip
        found: list[PortSocket] = []
        try:
            self._sock.sendto(header + request, (0, 0))
            while True:
                reply = self._sock.recv(65536)
                at = 0
                while at + _NLMSGHDR.size <= len(reply):
                    length, kind, _, seq, _ = _NLMSGHDR.unpack_from(reply, at)
                    if length < _NLMSGHDR.size:
                        return None
                    if seq != self._seq:
                        pass  # an answer to an earlier, timed-out request
                    elif kind == NLMSG_DONE:
                        return found
                    elif kind != SOCK_DIAG_BY_FAMILY:
                        return None  # NLMSG_ERROR: EPERM, or no sock_diag for the family
                    else:
                        parsed = _parse_port_socket(reply, at, at + length)
                        if parsed is not None:
                            found.append(parsed)
                    at += (length + 3) & ~3
        except OSError:
            return None

    def accept_queue_full(self, port: int) -> bool | None:
        """Whether every listener on ``port`` has a full accept queue (None: none seen).

        For a listener the kernel reports the connections waiting to be accepted and
        the backlog (as ``unread`` and ``unacked``); once more wait than the backlog,
        new SYNs are dropped, and a connect times out: the server accepts no one.
        """
        listeners = [
            sock
            for family in (socket.AF_INET, socket.AF_INET6)
            for sock in self.port_sockets(family, port, listening=True) or ()
        ]
        if not listeners:
            return None
        return all(sock.unread > sock.unacked for sock in listeners)

    def port_socket(self, family: int, sockid: bytes) -> PortSocket | None:
        """One socket of a :meth:`port_sockets` dump, looked up again by its ``sockid``.

        A lookup of one socket, tens of microseconds however many sockets the
        machine has. None once it is gone or in TIME_WAIT (no counters left).
        """
        ext = 1 << (INET_DIAG_INFO - 1)
        reply = self._ask(_REQ_HEAD.pack(family, socket.IPPROTO_TCP, ext, _ALL_STATES) + sockid)
        if reply is None:
            return None
        length, kind = _NLMSGHDR.unpack_from(reply)[:2]
        if kind != SOCK_DIAG_BY_FAMILY:
            return None  # NLMSG_ERROR: ENOENT, it is gone
        return _parse_port_socket(reply, 0, min(length, len(reply)))

    def _ask(self, request: bytes) -> bytes | None:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), SOCK_DIAG_BY_FAMILY,
                                NLM_F_REQUEST, self._seq, 0)  # fmt: skip
        try:
            self._sock.sendto(header + request, (0, 0))
            while True:
                reply = self._sock.recv(8192)
                if len(reply) >= _NLMSGHDR.size and _NLMSGHDR.unpack_from(reply)[3] == self._seq:
                    break  # an answer to an earlier, timed-out request is skipped
        except OSError:
            return None
        return reply


def _packed_ip(family: int, host: str) -> bytes:
    return socket.inet_pton(family, host).ljust(16, b"\0")


def _parse_tcp(reply: bytes, request: bytes) -> TcpPeer | None:
    length, kind = _NLMSGHDR.unpack_from(reply)[:2]
    if kind != SOCK_DIAG_BY_FAMILY or length < _NLMSGHDR.size + _MSG_SIZE:
        return None  # NLMSG_ERROR: ENOENT (no such socket here) or EPERM
    at = _NLMSGHDR.size
    state = _MSG_HEAD.unpack_from(reply, at)[1]
    # An exact lookup falls back to a listening socket on the port: that is not our peer.
    sent_ports = request[_REQ_HEAD.size : _REQ_HEAD.size + _PORTS.size]
    if state == TCP_LISTEN or reply[at + 4 : at + 8] != sent_ports:
        return None
    unread, unacked, _, inode = _QUEUES.unpack_from(reply, at + 4 + _SOCKID_SIZE)[1:]
    received = _tcp_info_bytes_received(reply, at + _MSG_SIZE, length)
    if received is None:
        return None
    return TcpPeer(state, unread, unacked, received, inode)


def _parse_port_socket(reply: bytes, at: int, end: int) -> PortSocket | None:
    at += _NLMSGHDR.size
    if end - at < _MSG_SIZE:
        return None
    state = _MSG_HEAD.unpack_from(reply, at)[1]
    cookie = int(struct.unpack_from("=Q", reply, at + 4 + _SOCKID_SIZE - 8)[0])
    unread, unacked = _QUEUES.unpack_from(reply, at + 4 + _SOCKID_SIZE)[1:3]
    info = _tcp_info(reply, at + _MSG_SIZE, end, _BYTES_ACKED_AT + _BYTES_ACKED_RECEIVED.size)
    if info is None:
        return None
    acked, received = _BYTES_ACKED_RECEIVED.unpack_from(reply, info + _BYTES_ACKED_AT)
    sockid = reply[at + 4 : at + 4 + _SOCKID_SIZE]
    return PortSocket(cookie, state, unread, unacked, int(received), int(acked), sockid)


def _tcp_info(reply: bytes, at: int, end: int, need: int) -> int | None:
    """Where the ``tcp_info`` attribute's payload starts, if it has ``need`` bytes."""
    while at + _RTATTR.size <= end:
        size, kind = _RTATTR.unpack_from(reply, at)
        if size < _RTATTR.size:
            return None
        if kind == INET_DIAG_INFO and size - _RTATTR.size >= need:
            return at + _RTATTR.size
        at += (size + 3) & ~3
    return None


def _tcp_info_bytes_received(reply: bytes, at: int, end: int) -> int | None:
    info = _tcp_info(reply, at, end, _BYTES_RECEIVED_AT + _BYTES_RECEIVED.size)
    if info is None:
        return None
    return int(_BYTES_RECEIVED.unpack_from(reply, info + _BYTES_RECEIVED_AT)[0])


class PeerWatch(abc.ABC):
    """What the server end of one client connection has done with the bytes we sent."""

    #: Whether :meth:`unread` counts what the server application has read (else only
    #: what its kernel has acknowledged: a remote server).
    sees_reads: bool = True

    @abc.abstractmethod
    def unread(self, sent: int) -> int | None:
        """Bytes of the first ``sent`` we wrote that the server has not read yet.

        0 means the server has read them all; None that this cannot be seen now.
        """

    @abc.abstractmethod
    def replying(self) -> bool | None:
        """Whether the server has written bytes that have not reached us yet (None: unknown)."""

    def inode(self) -> int:
        """The inode of the server's socket (0: unknown), to tell which process holds it."""
        return 0


class TcpWatch(PeerWatch):
    """A TCP connection's server end, looked up through ``sock_diag``."""

    def __init__(self, diag: DiagSocket, request: bytes) -> None:
        self._diag = diag
        self._request = request

    def peer(self) -> TcpPeer | None:
        """The server's socket now (None: gone, or cannot be seen)."""
        return self._diag.tcp_peer(self._request)

    def unread(self, sent: int) -> int | None:
        peer = self.peer()
        return None if peer is None else max(sent - peer.read, 0)

    def replying(self) -> bool | None:
        peer = self.peer()
        return None if peer is None else peer.unacked > 0

    def inode(self) -> int:
        peer = self.peer()
        return 0 if peer is None else peer.inode


class UnixWatch(PeerWatch):
    """An AF_UNIX stream: our own ``SIOCOUTQ`` counts what the server has not consumed."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def unread(self, sent: int) -> int | None:
        try:
            buf = fcntl.ioctl(self._sock.fileno(), SIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return None
        # Buffer memory, not payload bytes; 0 exactly when everything was consumed.
        return int(struct.unpack("=i", buf)[0])

    def replying(self) -> bool:
        # The server's writes land straight in our receive queue: readable means replied.
        return False


class AckWatch(PeerWatch):
    """A TCP server we cannot see: only what its kernel has acknowledged (``SIOCOUTQ``)."""

    sees_reads = False

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def unread(self, sent: int) -> int | None:
        try:
            buf = fcntl.ioctl(self._sock.fileno(), SIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return None
        return int(struct.unpack("=i", buf)[0])

    def replying(self) -> None:
        return None


class UdpWatch(PeerWatch):
    """A UDP server on this machine: its socket's receive queue (shared by all its clients)."""

    def __init__(self, diag: DiagSocket, request: bytes) -> None:
        self._diag = diag
        self._request = request

    def unread(self, sent: int) -> int | None:
        queues = self._diag.udp_queues(self._request)
        return None if queues is None else queues[0]

    def replying(self) -> bool | None:
        queues = self._diag.udp_queues(self._request)
        return None if queues is None else queues[1] > 0

    def inode(self) -> int:
        queues = self._diag.udp_queues(self._request)
        return 0 if queues is None else queues[2]


def watch_datagrams(
    sock: socket.socket, diag: DiagSocket | None, peer: tuple[Any, ...] | None = None
) -> UdpWatch | None:
    """A watch on the UDP socket that receives what ``sock`` sends to ``peer`` (None: unseen).

    ``peer`` defaults to the address ``sock`` is connected to.
    """
    request = diag.udp_request(sock, peer) if diag is not None else None
    if diag is None or request is None or diag.udp_queues(request) is None:
        return None
    return UdpWatch(diag, request)


def watch_peer(sock: socket.socket, diag: DiagSocket | None) -> PeerWatch | None:
    """A watch on the server end of connected stream socket ``sock``.

    A TCP server that is not on this machine (or not in this network namespace),
    or any TCP server when ``diag`` is None (no netlink here), gets an
    :class:`AckWatch`, which does not see reads; None for other sockets.
    """
    with contextlib.suppress(OSError):
        if sock.type != socket.SOCK_STREAM:
            return None
        if sock.family == socket.AF_UNIX:
            watch = UnixWatch(sock)
            return watch if watch.unread(0) is not None else None
    request = diag.tcp_request(sock) if diag is not None else None
    if diag is None or request is None or diag.tcp_peer(request) is None:
        return AckWatch(sock) if sock.family in (socket.AF_INET, socket.AF_INET6) else None
    return TcpWatch(diag, request)
