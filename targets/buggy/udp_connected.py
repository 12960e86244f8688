"""A UDP echo server that connect()s its socket to the first client and ignores all others."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

NAME = "buggy-udp-connected"
PROTOCOL = "datagram"
TRANSPORT = "udp"
BUG = "connect() to the first client's address: datagrams from any other client are dropped"
CAUGHT_BY = "datagram-reply"

MAX_DATAGRAM = 65535  # the largest UDP payload is 65507 bytes: never truncate

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


def _next_datagram(sock: socket.socket) -> tuple[bytes, tuple[str, int]]:
    """The next datagram and its sender, skipping reported ICMP errors and SIGNAL_POLL wake-ups."""
    while True:
        try:
            data, peer = sock.recvfrom(MAX_DATAGRAM)
        except (ConnectionRefusedError, TimeoutError):
            continue
        return data, peer[:2]


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled.

    Only the first client ever is answered (in a wirefault campaign that is the reachability
    probe), so every later client, including each liveness probe, goes unanswered.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.settimeout(SIGNAL_POLL)
        ready(sock.getsockname()[:2])
        data, peer = _next_datagram(sock)
        # BUG: connecting a UDP socket makes the kernel drop every datagram that does not come
        # from the connected address, and the server is meant to serve many clients. It was
        # done to use send() and get ICMP errors reported. The right way is to leave the
        # socket unconnected and reply with sendto(data, peer) to whoever sent each datagram
        # (or open a separate connected socket per client).
        sock.connect(peer)
        while True:
            try:
                sock.send(data)
            except ConnectionRefusedError:
                # An ICMP error for an earlier reply: the client's port is closed for now.
                log.warning("client %s is not listening", peer)
            data, _ = _next_datagram(sock)
    finally:
        sock.close()
