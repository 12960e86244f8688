"""A UDP echo server whose receive buffer is smaller than the datagrams it is sent."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

NAME = "buggy-udp-small-buffer"
PROTOCOL = "datagram"
TRANSPORT = "udp"
BUG = "recvfrom(1024) silently truncates larger datagrams, which are echoed cut short"
CAUGHT_BY = "echo"

# The main loop wakes up this often, so that SIGTERM/SIGINT is acted on within this many
# seconds even when its handler could not interrupt the blocking call (the signal was
# delivered to a worker thread, or arrived just before the call began).
SIGNAL_POLL = 0.5

log = logging.getLogger(NAME)


def serve(host: str, port: int, ready: Callable[[tuple[str, int]], None]) -> None:
    """Bind, call ready(bound_address) once listening, serve until the process is signalled."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.settimeout(SIGNAL_POLL)
        ready(sock.getsockname()[:2])
        while True:
            # BUG: a datagram longer than the buffer is truncated to 1024 bytes and the rest
            # is discarded by the kernel without an error. UDP payloads go up to 65507 bytes:
            # the right way is recvfrom(65535) (or recvmsg and a check of MSG_TRUNC).
            try:
                data, peer = sock.recvfrom(1024)
            except TimeoutError:
                continue  # see SIGNAL_POLL
            try:
                sock.sendto(data, peer)
            except OSError as exc:
                log.warning("reply to %s failed: %s", peer, exc)
    finally:
        sock.close()
