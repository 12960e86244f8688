"""Whether a server lets go of the connections its clients reset: a descriptor leak, seen.

A server that forgets to close the socket of a client that reset its connection
(an error path that returns early, a registry that keeps it) loses one
descriptor per reset. Nothing a client sees shows it until none are left, after
dozens or thousands of resets, and a restart heals it. For a server wirefault
started, Linux shows the leak itself at the first reset:

* before the runner resets a connection, it looks up the inode of the server's
  end (``sock_diag``), once the server has accepted it (:func:`accepted_inode`);
* after the play, the server's processes should not hold that inode open any
  more (``/proc/PID/fd``) once they have had time to act on the reset
  (:class:`ReleaseCheck`).

Two things keep a correct server from being blamed. "Time to act": a socket
counts as held only while the server's processes look idle, on end: no thread
running, ready to run or asleep on a timer of its own (a reaper that closes dead
sockets every second sleeps so), and no CPU used between looks; a server at work
through the whole wait is not judged (``unsure``). And "nothing waits on it": a
socket still armed in one of the server's epoll sets is not forgotten
(``polled``). An event loop on edge-triggered epoll can miss a reset that came
while it was busy with the connection and close the socket only at its next
timer: nginx 1.22 keeps a connection reset right after a chunked POST's headers
until ``client_body_timeout`` (60 s). An idle server cannot be waiting on a reset
socket any other way: a level-triggered poller would wake at once, and so would
a thread blocked reading or writing it. An early judgement (``held-early``)
needs that idleness for :data:`EARLY_IDLE`; it counts as a timeout judged early,
so a failure that rests on it is reported only once a replay with every deadline
waited out holds it too: that replay gives the server :func:`full_grace` before
its idleness counts. A connection reset before the server accepted it, one the
server had already closed, and one through a fault proxy (whose server end is
the proxy's) are not judged at all.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from wirefault.cutoff import Cutoff
from wirefault.server_activity import Activity, IdleSpell, ServerActivity
from wirefault.sockdiag import PeerWatch, TcpWatch

__all__ = [
    "EARLY_IDLE",
    "FULL_IDLE",
    "Release",
    "ReleaseCheck",
    "accepted_inode",
    "full_grace",
]

#: What became of the server's end of a connection the client reset: closed; still open
#: in an idle server after the full grace, with nothing waiting on it; the same, judged
#: early; still open, but an epoll set of the server still waits on it (it will act at its
#: next event or timer); the server was at work (or could not be seen) all the while.
Release = Literal["released", "held", "held-early", "polled", "unsure"]

#: Seconds on end an idle server must keep a reset connection's socket open, judged early.
EARLY_IDLE = 0.02
#: The same after the full grace (a replay with every deadline waited out).
FULL_IDLE = 0.05
#: Polling: sleep between looks, doubling from the first step to the last. Sleeping,
#: not spinning: the server may be waiting for this very CPU.
_FIRST_STEP = 0.0002
_LAST_STEP = 0.005


def full_grace(deadline: float) -> float:
    """Seconds a server gets to close a reset connection's socket before its idleness
    counts, in a play with every deadline waited out: twice the deadline, at least 2 s."""
    return max(2 * deadline, 2.0)


def accepted_inode(watch: PeerWatch | None, activity: ServerActivity, until: float) -> int:
    """The inode of the server's end of a connection, once the server has accepted it.

    A connection still in the accept queue has no descriptor yet (inode 0): this
    waits for the server to accept it, until ``until`` (monotonic) or until the
    server's processes look idle without having accepted it. 0 when it was not
    accepted by then, the server's end is gone (it closed the connection), or it
    cannot be seen (not TCP, not on this machine).
    """
    if not isinstance(watch, TcpWatch):
        return 0
    step = _FIRST_STEP
    before: Activity | None = None
    while True:
        peer = watch.peer()
        if peer is None or peer.inode:
            return 0 if peer is None else peer.inode
        now = activity.look()
        if now is None or time.monotonic() >= until:
            return 0
        if before is not None and step >= _LAST_STEP and now.quiet_since(before):
            return 0  # idle with our connection queued: it is not coming to it now
        before = now
        time.sleep(step)
        step = min(step * 2, _LAST_STEP)


@dataclass(frozen=True)
class Released:
    """What :meth:`ReleaseCheck.judge` found for one connection.

    Attributes:
        release: what became of the server's end (:data:`Release`).
        after: seconds from the start of the check to that finding.
    """

    release: Release
    after: float


class ReleaseCheck:
    """Waits for a server to close the sockets of the connections a play reset.

    Args:
        activity: the server's processes.
        idle: seconds on end they must look idle, a socket still held, for it to count.
        grace: seconds from the start of the check before their idleness counts.
        limit: seconds after which a server still at work is not judged.
        cutoff: when the run must stop (a wait it ends raises ``OutOfTime``).
    """

    def __init__(
        self, activity: ServerActivity, *, idle: float, grace: float, limit: float, cutoff: Cutoff
    ) -> None:
        self.activity = activity
        self.idle = idle
        self.grace = grace
        self.limit = max(limit, grace + idle)
        self.cutoff = cutoff

    def judge(self, inodes: Mapping[int, int]) -> dict[int, Released]:
        """For each connection (number: inode of the server's end), what became of it."""
        early = self.grace == 0
        found: dict[int, Released] = {}
        pending = dict(inodes)
        began = time.monotonic()
        step = _FIRST_STEP
        spell = IdleSpell()
        while pending:
            at = time.monotonic()
            now = self.activity.look()
            if now is None:  # gone or blind: nothing to say of what is left
                found.update({c: Released("unsure", at - began) for c in pending})
                break
            held = self.activity.holding(set(pending.values()), now)
            for conn in [c for c, inode in pending.items() if inode not in held]:
                found[conn] = Released("released", at - began)
                del pending[conn]
            idle_for = spell.look(now, at)
            if not pending:
                break
            if idle_for >= self.idle:
                # Idle, and still holding them: those an epoll set waits on are not
                # forgotten (and need not be waited for); the rest, after the grace, are.
                polled = self.activity.polled(set(pending.values()), now)
                for conn in [c for c, inode in pending.items() if inode in polled]:
                    found[conn] = Released("polled", at - began)
                    del pending[conn]
                if not pending or at - began >= self.grace:
                    verdict: Release = "held-early" if early else "held"
                    found.update({c: Released(verdict, at - began) for c in pending})
                    break
            if at - began >= self.limit:
                found.update({c: Released("unsure", at - began) for c in pending})
                break
            self.cutoff.check()
            time.sleep(max(min(step, self.cutoff.left()), 0.0))
            self.cutoff.check()
            step = min(step * 2, _LAST_STEP)
        return found
