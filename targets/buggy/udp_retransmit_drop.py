"""A UDP echo server that drops a repeated datagram as a retransmission instead of answering it."""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections.abc import Callable

NAME = "buggy-udp-retransmit-drop"
PROTOCOL = "datagram"
TRANSPORT = "udp"
BUG = "a datagram equal to the client's previous one is dropped as a duplicate, never re-answered"
CAUGHT_BY = "datagram-reply"

MAX_DATAGRAM = 65535  # the largest UDP payload is 65507 bytes: never truncate
# A datagram equal to the previous one from the same client, arriving within this many
# seconds of it, is taken for a retransmission.
RETRANSMIT_WINDOW = 3.0
MAX_PEERS = 4096  # bound on the table of recent datagrams

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


class _RecentDatagrams:
    """The digest and arrival time of the last datagram from each client."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], tuple[bytes, float]] = {}

    def is_repeat(self, peer: tuple[str, int], data: bytes) -> bool:
        """Whether ``data`` repeats ``peer``'s previous datagram; records it either way."""
        digest = hashlib.blake2b(data, digest_size=16).digest()
        now = time.monotonic()
        previous = self.last.get(peer)
        if len(self.last) >= MAX_PEERS:
            self.last = {p: v for p, v in self.last.items() if now - v[1] < RETRANSMIT_WINDOW}
        self.last[peer] = (digest, now)
        return (
            previous is not None and previous[0] == digest and now - previous[1] < RETRANSMIT_WINDOW
        )


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.settimeout(SIGNAL_POLL)
        ready(sock.getsockname()[:2])
        recent = _RecentDatagrams()
        while True:
            try:
                data, peer = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue  # see SIGNAL_POLL
            if recent.is_repeat(peer[:2], data):
                # BUG: a client repeats a datagram when the reply was lost (or simply because
                # it wants the same answer twice); dropping the repeat means it never gets an
                # answer, and each of its retries is "a repeat" again. The right way is to
                # answer every datagram, or, where work must not be done twice, to keep the
                # last reply per client and send it again for a retransmission.
                log.info("dropping a retransmission from %s", peer)
                continue
            try:
                sock.sendto(data, peer)
            except OSError as exc:
                log.warning("reply to %s failed: %s", peer, exc)
    finally:
        sock.close()
