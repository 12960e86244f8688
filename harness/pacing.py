"""Pacing by the server, not by the clock: wait for its reads instead of sleeping a guess.

Two decisions the runner used to make with a timer, made here by watching the
server's end of the connection (:mod:`wirefault.sockdiag`):

* **Cuts.** A request sent in chunks is only a test of reassembly if the server
  reads each chunk on its own. :class:`ChunkPacer` sends the next chunk as soon
  as the server has read the previous one, and says how each cut went:
  ``read`` (the server read the chunk before the next was sent: a separate
  read), ``unread`` (it had not read it within the bound; the chunks may have
  joined), or ``paused`` (the server cannot be seen: the scenario's drawn pause
  was slept instead, and nobody knows). A server that does not read within
  the bound is not waited for again on that connection: not reading is itself
  a finding (``stall-isolation``), not a reason to wait.
* **Silence.** :class:`Silence` tells when a missing reply is already certain:
  the server has read every byte we sent, has nothing on its way to us, and has
  stayed so for ``settle`` seconds (learnt from its own reply times, see
  :mod:`wirefault.patience`). Only then may an ``Expect`` end before its deadline.
  For a server wirefault started, a much shorter silence is certain too when its
  processes show they are waiting (:class:`Quiet`): no CPU time used through it,
  and no thread running or ready to run at its end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from wirefault.server_activity import Activity, IdleSpell, ServerActivity
from wirefault.server_port import Balance, ServerPort
from wirefault.sockdiag import PeerWatch

__all__ = [
    "READ_BOUND",
    "ChunkPacer",
    "CutSeen",
    "ProxiedSilence",
    "Quiet",
    "Silence",
    "drain",
    "wait_read",
]

#: Shortest time between two looks through a proxy (each a few lookups of single
#: sockets, but for the first and the deciding one, see :class:`ProxiedSilence`).
_PROXIED_LOOK_FLOOR = 0.001
#: How a cut between two chunks reached the server.
CutSeen = Literal["read", "unread", "paused"]

#: Longest wait for the server to read one chunk before the next is sent anyway.
READ_BOUND = 0.1
#: Polling: sleep between looks, doubling from the first step to the last (the server
#: usually reads within ~0.2 ms). Sleeping, not spinning: the server may be waiting for
#: this very CPU, and every look is a system call.
_FIRST_STEP = 0.00005
_LAST_STEP = 0.002


def wait_read(watch: PeerWatch, sent: int, until: float, quiet: Quiet | None = None) -> bool | None:
    """Wait until the server has read the first ``sent`` bytes, or ``until`` (monotonic) passes.

    Returns True once read, False when ``until`` passed first (or, with
    ``quiet``, once the server's processes show it is not going to read: asleep,
    using no CPU, for ``quiet.settle``), None when the server's end cannot be
    seen (any more).
    """
    step = _FIRST_STEP
    began = time.monotonic()
    while True:
        unread = watch.unread(sent)
        if unread is None:
            return None
        if unread <= 0:
            return True
        now = time.monotonic()
        if now >= until:
            return False
        # Not at once: most reads come within a fraction of a millisecond, and a look at
        # the server's processes costs about as much.
        if quiet is not None and now - began >= quiet.settle and quiet.certain(now, watch):
            return False
        time.sleep(min(step, until - now))
        step = min(step * 2, _LAST_STEP)


def drain(watch: PeerWatch | None, sent: int, bound: float, quiet: Quiet | None = None) -> str:
    """Before a half-close: wait until the server has read (or acknowledged) all ``sent`` bytes.

    Returns what happened, for the transcript ("" when nothing could be seen).
    With ``quiet``, a server whose processes show it is not reading is not waited
    for the whole ``bound``.
    """
    if watch is None or not sent:
        return ""
    began = time.monotonic()
    done = wait_read(watch, sent, began + bound, quiet)
    what = "read" if watch.sees_reads else "acknowledged"
    waited = f"{(time.monotonic() - began) * 1000:.2f}ms"
    if done is None:
        return ""
    if done:
        return f"after the server {what} all {sent}B ({waited})"
    return f"the server had not {what} all {sent}B after {waited}"


def unread_at_close(watch: PeerWatch | None, sent: int) -> str:
    """Just after a half-close at once: what the server had not read of ``sent`` bytes.

    A count above 0 means the EOF reached the server before it read those bytes ("":
    the server's end cannot be seen).
    """
    if watch is None or not sent or not watch.sees_reads:
        return ""
    unread = watch.unread(sent)
    if unread is None:
        return ""
    return f"at once: {max(unread, 0)}B of {sent}B still unread by the server at the EOF"


class ChunkPacer:
    """Spaces the chunks of one connection's sends by the server's reads.

    Args:
        watch: the server's end of the connection (None: cannot be seen).
        bound: the longest wait for one chunk to be read.
        quiet: gives a :class:`Quiet` for each wait, when the server's processes can
            be seen: a server asleep and using no CPU with a chunk unread is not
            going to read it, and is not waited for the whole bound.
    """

    def __init__(
        self,
        watch: PeerWatch | None,
        bound: float = READ_BOUND,
        quiet: Callable[[], Quiet | None] | None = None,
    ) -> None:
        self.watch = watch if watch is not None and watch.sees_reads else None
        self.bound = bound
        self._quiet = quiet
        #: Set once the server left a chunk unread for a whole bound.
        self.stuck = False

    def between(self, sent: int, pause: float) -> tuple[CutSeen, float]:
        """Called between two chunks, ``sent`` bytes written so far: how the cut went, and the wait.

        ``pause`` is the scenario's drawn pause, slept only when the server
        cannot be seen (and, once it stopped reading, as the most to wait).
        """
        began = time.monotonic()
        seen: bool | None = None
        if self.watch is not None:
            bound = min(self.bound, pause) if self.stuck else self.bound
            seen = wait_read(self.watch, sent, began + bound, self._quiet and self._quiet())
        if seen is None:
            if pause:
                time.sleep(pause)
            return "paused", time.monotonic() - began
        if not seen:
            self.stuck = True
            return "unread", time.monotonic() - began
        return "read", time.monotonic() - began


class Quiet:
    """The shorter silence of a server whose processes can be seen.

    Args:
        activity: the server's processes.
        settle: seconds of silence that are certain when, all through them, the
            server used no CPU and at their end no thread of it runs or waits to.
    """

    def __init__(self, activity: ServerActivity, settle: float) -> None:
        self.activity = activity
        self.settle = settle
        self._before: Activity | None = None
        self._since = 0.0
        self._blind = False
        self._spell: IdleSpell | None = None  # working()'s looks

    def restart(self) -> None:
        """The silence starts over: the next look at the server's processes begins it."""
        self._before = None
        self._spell = None

    def certain(self, now: float, watch: PeerWatch) -> bool:
        """Whether the server has done nothing for ``settle`` seconds (see the class).

        ``watch`` is the server's end of the connection: its socket must be open in
        one of the processes looked at, or their quiet says nothing of the server.
        """
        if self._blind:
            return False
        if self._before is not None and now - self._since < self.settle:
            return False
        after = self.activity.look()
        if after is None:
            self._blind = True  # cannot be seen (any more): the long settle decides
            return False
        if self._before is not None and after.quiet_since(self._before):
            if self.activity.owns(watch.inode(), after):
                return True
            self._blind = True  # the server is elsewhere (a container, a daemon): not it
            return False
        self._before, self._since = after, now  # the first look, or it did something
        return False

    def working(self, watch: PeerWatch) -> bool:
        """Whether the server is at work: a silence is not over yet.

        At work until its processes have looked idle for ``settle`` seconds on end:
        at every look no thread running, ready to run or in disk I/O, and no CPU
        time used since the look before. A server computing a reply (a quadratic
        parse takes seconds and sends nothing) is at work however long its sockets
        have been quiet, even in short bursts between short sleeps; so is one at
        work while our connection still waits to be accepted (a server serving one
        client at a time, busy with the one before). A thread asleep on a timer
        does not count here (a runtime's housekeeping thread sleeps so all the
        time). False when the processes cannot be seen or do not hold ``watch``'s
        socket: then the sockets alone decide, as before.
        """
        if self._blind:
            return False
        at = time.monotonic()
        now = self.activity.look()
        if now is None:
            self._blind = True
            return False
        if self._spell is None:
            self._spell = IdleSpell(timers_busy=False)
            if self._before is not None:
                # The first look here: compare with the sooner silence's look of this wait,
                # so that a server idle since then needs no second look.
                self._spell.start(self._before, self._since)
        if self._spell.look(now, at) >= self.settle:
            return False
        inode = watch.inode()
        if not inode:
            # Our connection waits in the accept queue (no descriptor yet): the server at
            # work on another client may still come to it.
            return True
        if self.activity.owns(inode, now):
            return True
        self._blind = True  # the server is elsewhere: its processes say nothing
        return False


class Silence:
    """Decides when a server's silence during one read is certain.

    Certain means: for ``settle`` seconds the server has made no progress on
    this connection. It read nothing more of what we sent (all of it read
    already, or some left unread: a server that does not read us is not
    serving us either) and had nothing on its way to us. With ``quiet``, also
    once the server has made none for ``quiet.settle`` seconds and its
    processes did nothing all through them (:class:`Quiet`); and, with
    ``quiet``, never while those processes are at work, however long the
    sockets have been quiet (:meth:`Quiet.working`).

    Args:
        watch: gives the server's end of the connection, asked only once the
            silence has lasted a while (most replies come before: no lookup).
        settle: seconds without progress that make a missing reply certain.
        sent: bytes we have written on the connection.
        quiet: the shorter silence of a server whose processes can be seen.
        wait_for_work: with ``quiet``, no silence is certain while the server is at
            work (False: the sockets alone decide once ``settle`` has passed).
    """

    def __init__(
        self,
        watch: Callable[[], PeerWatch | None],
        settle: float,
        sent: int,
        quiet: Quiet | None = None,
        *,
        wait_for_work: bool = True,
    ) -> None:
        self._watch_of = watch
        self._wait_for_work = wait_for_work
        self.watch: PeerWatch | None = None
        self.settle = settle
        self.sent = sent
        self.quiet = quiet
        self._quietly = False
        now = time.monotonic()
        shortest = min(settle, quiet.settle) if quiet is not None else settle
        self.period = max(shortest / 4, 0.0005 if quiet is not None else 0.001)
        self._next = now + self.period
        self._unread: int | None = -1  # not looked yet: the first look starts the clock
        self._since = now

    def due(self) -> float:
        """When to look next (monotonic)."""
        return self._next

    def describe(self, waited: float) -> str:
        """Why a read that lasted ``waited`` seconds ended early, for the transcript."""
        left = (self.watch.unread(self.sent) if self.watch else 0) or 0
        did = f"left {left}B unread" if left else "read everything we sent"
        if self._quietly and self.quiet is not None:
            return (
                f"timeout judged early after {waited:.3f}s: the server {did} and sent nothing "
                f"for {self.quiet.settle:.3f}s, all through which its processes used no CPU, "
                "and none of its threads was running or waiting to"
            )
        return (
            f"timeout judged early after {waited:.3f}s: the server {did} and sent nothing "
            f"for {self.settle:.3f}s"
        )

    def heard(self) -> None:
        """Bytes arrived: the silence starts over."""
        now = time.monotonic()
        self._since = now
        self._next = now + self.period
        if self.quiet is not None:
            self.quiet.restart()

    def certain(self) -> bool:
        """Look now: True once the server made no progress for ``settle`` seconds."""
        now = time.monotonic()
        self._next = now + self.period
        if self.watch is None:
            self.watch = self._watch_of()
        if self.watch is None or not self.watch.sees_reads:
            self._next = float("inf")  # cannot be seen: wait the deadline out
            return False
        unread = self.watch.unread(self.sent)
        replying = self.watch.replying()
        if unread is None or replying is None or replying or unread != self._unread:
            self._unread = unread
            self._since = now
            if self.quiet is not None:
                self.quiet.restart()
            return False
        if now - self._since >= self.settle:
            # The sockets have been quiet long enough; a server still computing is not.
            if self.quiet is None or not self._wait_for_work:
                return True
            if self.quiet.working(self.watch):
                # Look again later, not every period: a reply is read as soon as it
                # comes anyway, and the looks would take CPU from the server at work.
                self._next = now + max(self.period, self.settle / 4)
                return False
            return True
        if self.quiet is not None and self.quiet.certain(now, self.watch):
            self._quietly = True
            return True
        return False


class ProxiedSilence(Silence):
    """Decides when a server's silence is certain through a fault proxy.

    The proxy's socket cannot tell (it holds data back on purpose); the server's
    sockets can: certain means their counts balance ours, nothing in flight either
    way (see :mod:`wirefault.server_port`), and have not changed for ``settle``
    seconds.

    Args:
        port: the server's sockets of this play.
        balance: what the runner has sent, received and seen end so far.
        settle: seconds without progress that make a missing reply certain.
    """

    def __init__(self, port: ServerPort, balance: Callable[[], Balance], settle: float) -> None:
        super().__init__(lambda: None, settle, 0)
        self._port = port
        self._balance = balance
        self._mark: tuple[int, ...] | None = None
        self.period = max(settle / 4, _PROXIED_LOOK_FLOOR)
        self._next = self._since + self.period

    def describe(self, waited: float) -> str:
        """Why a read that lasted ``waited`` seconds ended early, for the transcript."""
        return (
            f"timeout judged early after {waited:.3f}s: behind the fault proxy the server had "
            "received all we sent, all it wrote had reached us, and nothing moved for "
            f"{self.settle:.3f}s"
        )

    def certain(self) -> bool:
        """Look now: True once the counts balanced, unchanged, for ``settle`` seconds.

        The first look and the deciding one dump the server's port (a dump walks
        every TCP socket of the machine: 2 ms here with a few hundred, 10 ms with
        tens of thousands of TIME_WAITs after a long campaign); the looks between
        look up the sockets the first one found, one by one.
        """
        now = time.monotonic()
        deciding = self._mark is not None and now - self._since >= self.settle
        mark = self._port.mark(self._balance(), full=deciding or self._mark is None)
        looked = time.monotonic()
        if not deciding and self._mark is not None:
            # Looks take at most a fifth of the time.
            self.period = max(self.period, 4 * (looked - now))
        # From the end of the look: a dump that took longer than the period must still
        # leave time to read in between.
        self._next = looked + self.period
        if mark is None or mark != self._mark:
            self._mark = mark
            self._since = now
            return False
        return deciding
