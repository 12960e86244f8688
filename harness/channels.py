"""Client sockets with deadlines: the runner's only I/O, and where OS errors are translated.

A channel is one scenario connection: a TCP (or AF_UNIX) stream or a UDP
socket. Every operation takes a deadline and returns what happened rather
than raising for what a peer did (a reset, a close, a refusal): those are
observations to record, not errors. Only our own misuse raises.

A UDP channel is *not* connected: servers that answer each client from a fresh
socket (TFTP does) reply from another port, which a connected socket would
drop. It sends to the target and takes replies from any port of the target's
host (:attr:`ReadResult.port` says which). ICMP errors still reach it through
``IP_RECVERR``, so a closed port is still seen as refused.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import select
import socket
import struct
import sys
import termios
import time
from dataclasses import dataclass
from typing import Any, Literal

from wirefault.addresses import Address
from wirefault.sockdiag import DiagSocket, PeerWatch, watch_datagrams, watch_peer

__all__ = ["Channel", "ReadResult", "SendResult", "open_channel"]

#: What a read or write observed about the peer.
PeerState = Literal["ok", "eof", "rst", "timeout", "refused"]

_RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN}


@dataclass(frozen=True)
class SendResult:
    """How much of a write went out, and why it stopped if it stopped early."""

    sent: int
    state: PeerState


@dataclass(frozen=True)
class ReadResult:
    """Bytes read (possibly empty) and the peer's state after the read.

    ``port`` is the UDP port a datagram came from (0 for streams and empty reads).
    """

    data: bytes
    state: PeerState
    port: int = 0


def _classify(exc: OSError) -> PeerState:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if exc.errno in _RESET_ERRNOS or isinstance(exc, ConnectionError):
        return "rst"
    raise exc


class Channel:
    """One connection of a scenario, with deadline-bounded operations.

    Args:
        sock: a connected stream socket, or an unconnected UDP socket.
        datagram: whether ``sock`` is UDP.
        peer: for UDP, the target's resolved address (datagrams go there, and replies
            are taken from any port of its host).
    """

    def __init__(
        self, sock: socket.socket, *, datagram: bool, peer: tuple[Any, ...] | None = None
    ) -> None:
        self._sock = sock
        self.datagram = datagram
        self.closed = False
        self._peer = peer
        #: Bytes written so far (TCP/unix streams): what the server has to read.
        self.sent = 0
        # After each read of a TCP stream the delayed ACK is sent at once: a server whose
        # Nagle holds its next small write until ours comes would otherwise wait ~40 ms.
        self._quickack = not datagram and sock.family in (socket.AF_INET, socket.AF_INET6)

    def watch(self, diag: DiagSocket | None) -> PeerWatch | None:
        """A view of the server's end of this channel (None: it is not on this machine)."""
        if self.closed:
            return None
        if self.datagram:
            return watch_datagrams(self._sock, diag, self._peer)
        return watch_peer(self._sock, diag)

    def local_port(self) -> int:
        """This end's port (0: closed, or not an IP socket)."""
        if self.closed or self._sock.family not in (socket.AF_INET, socket.AF_INET6):
            return 0
        try:
            return int(self._sock.getsockname()[1])
        except OSError:
            return 0

    def pending(self) -> int:
        """Bytes that have arrived and wait in our socket, not read yet (0: none, or closed)."""
        if self.closed:
            return 0
        try:
            buf = fcntl.ioctl(self._sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return max(int(struct.unpack("=i", buf)[0]), 0)

    def send(self, data: bytes, deadline: float) -> SendResult:
        """Write ``data`` (one datagram for UDP), giving up at ``deadline`` (monotonic time)."""
        if self.datagram:
            return self._send_datagram(data)
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            try:
                done = self._sock.send(view[sent:])
            except BlockingIOError:
                # Full buffer: wait for room (a write is tried first: it usually fits).
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return SendResult(sent, "timeout")
                try:
                    select.select([], [self._sock], [], remaining)
                except OSError as exc:
                    return SendResult(sent, _classify(exc))
                continue
            except OSError as exc:
                return SendResult(sent, _classify(exc))
            sent += done
            self.sent += done
        return SendResult(sent, "ok")

    def recv(self, size: int, deadline: float) -> ReadResult:
        """Read at most ``size`` bytes (one datagram for UDP) before ``deadline``.

        Returns empty data with state ``timeout`` when nothing came in time, and
        ``eof`` when the peer closed its side (TCP only).
        """
        if self.datagram:
            return self._recv_datagram(size, deadline)
        remaining = deadline - time.monotonic()
        try:
            readable, _, _ = select.select([self._sock], [], [], max(remaining, 0.0))
            if not readable:
                return ReadResult(b"", "timeout")
            data = self._sock.recv(size)
        except BlockingIOError:
            return ReadResult(b"", "timeout")
        except OSError as exc:
            return ReadResult(b"", _classify(exc))
        if not data and not self.datagram:
            return ReadResult(b"", "eof")
        if self._quickack:
            with contextlib.suppress(OSError):  # a reset socket: the next read reports it
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return ReadResult(data, "ok")

    def _send_datagram(self, data: bytes) -> SendResult:
        assert self._peer is not None  # open_channel sets it for UDP
        try:
            self._sock.sendto(data, self._peer)
        except OSError as exc:
            self._drain_errors()
            return SendResult(0, _classify(exc))
        return SendResult(len(data), "ok")

    def _recv_datagram(self, size: int, deadline: float) -> ReadResult:
        """The next datagram from the target's host (any port); others are dropped unread."""
        assert self._peer is not None
        while True:
            remaining = deadline - time.monotonic()
            try:
                readable, _, _ = select.select([self._sock], [], [], max(remaining, 0.0))
                if not readable:
                    return ReadResult(b"", "timeout")
                data, source = self._sock.recvfrom(size)
            except BlockingIOError:
                if remaining <= 0:
                    return ReadResult(b"", "timeout")
                continue
            except OSError as exc:
                self._drain_errors()
                return ReadResult(b"", _classify(exc))
            if source[0] == self._peer[0]:
                return ReadResult(data, "ok", port=source[1])

    def _drain_errors(self) -> None:
        """Empty the ICMP error queue (IP_RECVERR), which would keep the socket readable."""
        for _ in range(64):
            try:
                self._sock.recvmsg(1, 1024, getattr(socket, "MSG_ERRQUEUE", 0x2000))
            except OSError:
                return

    def half_close(self) -> PeerState:
        """Shut down our write side (SHUT_WR)."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            return _classify(exc)
        return "ok"

    def abort(self) -> None:
        """Close with SO_LINGER {1, 0}: the kernel sends RST instead of FIN."""
        if self.closed:
            return
        # If the socket is already dead, closing is all that is left to do.
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        """Close normally; idempotent."""
        if not self.closed:
            self.closed = True
            self._sock.close()


def open_channel(
    address: Address, *, timeout: float, rcvbuf: int | None = None
) -> tuple[Channel | None, PeerState]:
    """Connect to ``address``; returns the channel, or None and why it failed.

    TCP sockets get TCP_NODELAY so each write leaves as its own segment (and
    TCP_QUICKACK after every read, see :class:`Channel`); a ``rcvbuf`` is set
    before connecting so the TCP window honours it. UDP sockets are not connected
    (see the module docstring).
    """
    datagram = address.transport == "udp"
    if datagram:
        return _open_datagram(address, rcvbuf)
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if address.transport == "tcp":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        sock.connect(address.sockaddr())
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if isinstance(exc, TimeoutError | socket.timeout):
            return None, "timeout"
        if isinstance(exc, ConnectionError) or exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return None, "refused"
        return None, _classify(exc)
    return Channel(sock, datagram=False), "ok"


#: Linux's IP_RECVERR and IPV6_RECVERR (the socket module names neither).
_RECVERR = {socket.AF_INET: (socket.IPPROTO_IP, 11), socket.AF_INET6: (socket.IPPROTO_IPV6, 25)}


def _open_datagram(address: Address, rcvbuf: int | None) -> tuple[Channel | None, PeerState]:
    """An unconnected UDP socket aimed at ``address``, with ICMP errors reported."""
    try:
        infos = socket.getaddrinfo(address.host, address.port, address.family, socket.SOCK_DGRAM)
    except OSError:
        return None, "refused"
    family, _, _, _, peer = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        # Bound at once, so a port of our own exists before the first send and the
        # server's receive queue can be looked up from it (Channel.watch): to the
        # loopback address for a loopback target, else as the first send would bind.
        sock.bind((_local_for(family, str(peer[0])), 0))
        level, option = _RECVERR.get(family, (0, 0))
        if option and sys.platform.startswith("linux"):
            # Unconnected sockets hear of ICMP port-unreachable only with this set.
            sock.setsockopt(level, option, 1)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return Channel(sock, datagram=True, peer=tuple(peer)), "ok"


def _local_for(family: int, host: str) -> str:
    """Where a UDP client socket for ``host`` binds: ``host`` itself if loopback, else any."""
    if ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
        return host
    return "::" if family == socket.AF_INET6 else "0.0.0.0"  # noqa: S104 - a client's bind
