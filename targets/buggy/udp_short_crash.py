"""A UDP echo server that unpacks a 2-byte header without checking the datagram's length."""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Callable

NAME = "buggy-udp-short-crash"
PROTOCOL = "datagram"
TRANSPORT = "udp"
BUG = "a 2-byte sequence header unpacked with no length check: an empty datagram kills it"
CAUGHT_BY = "datagram-sizes"

MAX_DATAGRAM = 65535  # the largest UDP payload is 65507 bytes: never truncate
MAX_PEERS = 4096  # bound on the per-client statistics table
_SEQUENCE = struct.Struct("!H")

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _GapCounter:
    """Counts jumps in the 16-bit sequence numbers each client puts first in its datagrams."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}
        self.gaps = 0

    def note(self, peer: tuple[str, int], data: bytes) -> None:
        """Record the sequence number at the front of ``data`` sent by ``peer``."""
        # BUG: unpack_from needs two bytes; an empty or 1-byte datagram (both valid UDP)
        # raises struct.error, which nothing catches, so the server exits. The right way is
        # to check len(data) >= 2 first and skip the statistics (still echoing) when shorter.
        (sequence,) = _SEQUENCE.unpack_from(data)
        previous = self.last.get(peer)
        if previous is not None and sequence != (previous + 1) & 0xFFFF:
            self.gaps += 1
            log.debug("%s: sequence jumped from %d to %d", peer, previous, sequence)
        if len(self.last) >= MAX_PEERS:
            self.last.clear()
        self.last[peer] = sequence


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.settimeout(SIGNAL_POLL)
        ready(sock.getsockname()[:2])
        gaps = _GapCounter()
        while True:
            try:
                data, peer = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue  # see SIGNAL_POLL
            gaps.note(peer[:2], data)
            try:
                sock.sendto(data, peer)
            except OSError as exc:
                log.warning("reply to %s failed: %s", peer, exc)
    finally:
        sock.close()
