"""A UDP echo server: each datagram is sent back whole to its sender, empty ones too."""

from __future__ import annotations

import logging
import socket

from wirefault.targets._serving import Ready, family_for, signals_deferred, wait_readable

NAME = "udp-echo"
PROTOCOL = "datagram"
TRANSPORT = "udp"

# The largest UDP payload over IPv4 is 65507 bytes (65535 minus the IP and UDP
# headers). recvfrom() truncates a datagram that does not fit its buffer, without
# error, so the buffer is bigger than any datagram can be.
RECV_BUFFER = 65536

log = logging.getLogger(NAME)


def _echo_one(sock: socket.socket) -> None:
    """Wait for one datagram and send it back to where it came from."""
    # One datagram is one message: no buffering, no reassembly, and so no per-client
    # state that an idle client could pin. An empty datagram is a real message too
    # (recvfrom returns b"", which on UDP is not EOF).
    wait_readable(sock)
    try:
        data, peer = sock.recvfrom(RECV_BUFFER)
    except BlockingIOError:
        return  # readiness withdrawn (a datagram that failed its checksum): wait again
    except OSError as exc:
        # E.g. ECONNREFUSED from an ICMP error about an earlier reply: that concerns
        # one peer only, so keep serving the rest.
        log.info("recvfrom failed: %s", exc)
        return
    try:
        sock.sendto(data, peer)
    except OSError as exc:
        log.info("could not echo %d bytes to %s: %s", len(data), peer, exc)


def serve(host: str, port: int, ready: Ready) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    # No SO_REUSEADDR here, unlike TCP: on Linux it lets two UDP sockets bind the
    # same port and split its datagrams between them, hiding a "port in use".
    sock = socket.socket(family_for(host), socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.setblocking(False)  # recvfrom() only after wait_readable() says a datagram is there
        ready(sock.getsockname()[:2])
        with signals_deferred():  # a stop signal may only interrupt the wait
            while True:
                _echo_one(sock)
    finally:
        sock.close()
