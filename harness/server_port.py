"""The server's side of a fault proxy: whether anything is still on its way, by counting bytes.

Through a fault proxy the runner's socket talks to the proxy, which holds data
back on purpose (latency, bandwidth, a slow close): the proxy's silence says
nothing of the server's. But the server's own sockets are on this machine too,
and the kernel counts every byte each of them received and every byte of theirs
that was acknowledged. So, without knowing anything of the proxy (Toxiproxy or
the embedded one), nothing is in flight through it when:

* the server's sockets opened during the play have received, together, exactly
  the bytes the runner wrote;
* everything they wrote has been acknowledged, and the runner has received
  exactly that many bytes (read, or waiting in its sockets);
* no close of the server's is held in the proxy: no more of its sockets have
  closed first (fin-wait) than the runner has seen end.

:class:`ServerPort` reports those counters as a *mark* when they balance, and
None while they do not; a silence is certain once the mark has stayed the same
for the settle time (:class:`wirefault.pacing.Silence`). A proxy that drops or
rewrites byte counts (a ``limit_data`` toxic) never balances: such a play waits
its deadlines out, as before.

::

    runner ──sent──> proxy ──> server socket: received (FIN: +1)
    runner <─recv─── proxy <── server socket: acked (its FIN acknowledged: +1)
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from wirefault.addresses import Address
from wirefault.sockdiag import DiagSocket, PortSocket

__all__ = ["Balance", "ServerPort"]

_FIN_WAIT1, _FIN_WAIT2, _CLOSE_WAIT, _LAST_ACK, _CLOSING = 4, 5, 8, 9, 11
#: States in which the server's socket has received a FIN (counted in ``received``).
_FIN_IN = frozenset({_CLOSE_WAIT, _LAST_ACK, _CLOSING})
#: States in which the server closed first and its peer (the proxy) has not closed yet:
#: the FIN may be held in the proxy.
_CLOSED_FIRST = frozenset({_FIN_WAIT1, _FIN_WAIT2, _CLOSING})


@dataclass(frozen=True)
class Balance:
    """What the runner has done on a play's connections, to set against the server's counts.

    Attributes:
        sent: bytes written on every connection of the play.
        received: bytes received on them (read, or waiting in our sockets).
        ended: connections the runner has seen end or has closed itself.
    """

    sent: int
    received: int
    ended: int


class ServerPort:
    """The server's sockets on its port, as far as one play through a proxy is concerned.

    Made at the start of a play (before it connects): sockets already open then
    belong to others and are left out. Use :meth:`open` (None: the server is not
    on this machine, or cannot be seen).
    """

    def __init__(self, diag: DiagSocket, family: int, port: int, before: set[int]) -> None:
        self._diag = diag
        self._family = family
        self._port = port
        self._before = before
        # Last counts of each socket of the play: one that has closed since keeps them.
        self._seen: dict[int, tuple[int, int, bool]] = {}
        # The play's sockets the last dump found: cookie -> sockid, to look up one by one.
        self._known: dict[int, bytes] = {}
        # Client ports of the play's connections made past the proxy (Open direct=True).
        self._direct: set[int] = set()

    @classmethod
    def open(cls, diag: DiagSocket | None, server: Address) -> ServerPort | None:
        """A view of ``server``'s port, or None when it cannot be seen from here."""
        if diag is None or server.transport != "tcp":
            return None
        # A dual-stack server (listening on ``::``) serves IPv4 clients on IPv6 sockets.
        preferred = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        other = socket.AF_INET if preferred == socket.AF_INET6 else socket.AF_INET6
        family = next(
            (f for f in (preferred, other) if diag.port_sockets(f, server.port, listening=True)),
            None,
        )
        if family is None:
            return None  # not on this machine (or not in this network namespace)
        before = diag.port_sockets(family, server.port)
        if before is None:
            return None
        return cls(diag, family, server.port, {s.cookie for s in before})

    def leave_out(self, client_port: int) -> None:
        """Leave out the server's end of a connection the play made past the proxy.

        Its bytes are not in the :class:`Balance` (they never went through the
        proxy), so its socket, if a dump still finds it, is not counted either.
        """
        self._direct.add(client_port)

    def mark(self, ours: Balance, *, full: bool = True) -> tuple[int, ...] | None:
        """The server's counts when they balance ``ours``; None while something is in flight.

        ``full`` dumps the port, which finds every socket of the play, those the
        proxy opened since too; without it, the play's sockets the last dump found
        are looked up one by one: tens of microseconds instead of milliseconds, but
        blind to any opened since (a certain silence rests on a full look at its end).
        """
        ours_now = self._dump() if full or not self._known else self._looked_up()
        if ours_now is None:
            return None
        if any(sock.unacked for sock in ours_now):
            return None  # written, not yet through to the proxy
        for sock in ours_now:
            self._seen[sock.cookie] = _counts(sock)
        present = {sock.cookie for sock in ours_now}
        for cookie, (arrived, delivered, _) in self._seen.items():
            if cookie not in present:  # closed on both sides since: its close went through
                self._seen[cookie] = (arrived, delivered, False)
        arrived = sum(a for a, _, _ in self._seen.values())
        delivered = sum(d for _, d, _ in self._seen.values())
        closed_first = sum(c for _, _, c in self._seen.values())
        if arrived != ours.sent or delivered != ours.received or closed_first > ours.ended:
            return None
        return (arrived, delivered, closed_first, *sorted(s.unread for s in ours_now))

    def _dump(self) -> list[PortSocket] | None:
        now = self._diag.port_sockets(self._family, self._port)
        if now is None:
            return None
        ours_now = [
            sock
            for sock in now
            if sock.cookie not in self._before and sock.peer_port not in self._direct
        ]
        self._known = {sock.cookie: sock.sockid for sock in ours_now}
        return ours_now

    def _looked_up(self) -> list[PortSocket]:
        found = (self._diag.port_socket(self._family, sockid) for sockid in self._known.values())
        return [sock for sock in found if sock is not None]  # None: closed since


def _counts(sock: PortSocket) -> tuple[int, int, bool]:
    """Data bytes arrived and delivered (FINs taken out), and whether it closed first."""
    arrived = sock.received - (1 if sock.state in _FIN_IN else 0)
    delivered = sock.acked - (1 if sock.state == _FIN_WAIT2 else 0)
    return arrived, delivered, sock.state in _CLOSED_FIRST
