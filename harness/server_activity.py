"""Whether a managed server is doing anything at all: its CPU time and its threads' states.

A missing reply counts as certain once the server has read everything, sent
nothing, and stayed so for a settle time learnt from its reply times, never
under 20 ms (:mod:`wirefault.patience`). Most of those 20 ms cover what the
sockets cannot show: a server thread still computing the reply, or one that is
ready to run but waiting for a CPU on a loaded machine. For a server wirefault
started, Linux shows both directly:

* the CPU time of each of its processes, in nanoseconds, through the process's
  CPU clock (``clock_gettime`` on ``(~pid << 3) | 2``, which is how
  ``clock_getcpuclockid`` encodes it), not the 10 ms ticks of ``/proc/PID/stat``;
* the state of each of its threads (``/proc/PID/task/TID/stat``): ``R`` is
  running or waiting for a CPU, ``D`` waiting on a disk; and where each sleeping
  thread sleeps (``/proc/PID/task/TID/wchan``): one in ``nanosleep`` has put
  itself to sleep for a while (a handler's ``sleep()``, a back-off, a rate
  limit) and will go on when it wakes, so it counts as busy.

Its processes are the one wirefault started and all their descendants
(``/proc/PID/task/TID/children``): a forking server's children are in, a
daemon that left the tree is not. So before its quiet counts, the server's
end of the connection must be open in one of them (its socket's inode among
their descriptors): a wrapper that runs the real server elsewhere (a container,
``ssh``) is never taken for the server.

Elsewhere (no ``/proc``, another user's process) nothing is seen, and silences
are judged as before.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

__all__ = ["VISIBLE", "Activity", "IdleSpell", "ServerActivity"]

#: Whether this system shows processes' threads at all (Linux's ``/proc``).
VISIBLE = os.path.isdir("/proc/self/task")

#: Thread states of a server doing something: running or ready to run, in disk I/O,
#: or being woken (older kernels).
_BUSY_STATES = frozenset(b"RDW")
#: Processes followed at most (a server forking per connection has one per client);
#: a server with more cannot be seen.
_MOST_PROCESSES = 256
#: Inodes remembered as the server's own (sockets of connections it served).
_MOST_INODES = 4096


@dataclass(frozen=True)
class Activity:
    """One look at a server's processes.

    Attributes:
        pids: its processes: the one started and its descendants.
        cpu_ns: their CPU time so far, all threads together, in nanoseconds.
        busy: whether some thread was running, ready to run, in disk I/O, or asleep on
            a timer of its own.
        running: whether some thread was running, ready to run, or in disk I/O (a
            timer's sleeper not counted: a runtime's housekeeping thread sleeps so).
    """

    pids: frozenset[int]
    cpu_ns: int
    busy: bool
    running: bool = False

    def quiet_since(self, before: Activity) -> bool:
        """Whether the server did nothing between ``before`` and this look.

        The same processes, no CPU time used by any of them, and no thread
        running or ready to run now.
        """
        return not self.busy and self.pids == before.pids and self.cpu_ns == before.cpu_ns


class IdleSpell:
    """How long a server's processes have looked idle on end, from look to look.

    Idle between two looks: the same processes, no CPU time used, and at the later
    look no thread running, ready to run or in disk I/O; nor, with ``timers_busy``,
    asleep on a timer of its own. A spell counts from the earlier look of its first
    idle pair.
    """

    def __init__(self, *, timers_busy: bool = True) -> None:
        self.timers_busy = timers_busy
        self._before: Activity | None = None
        self._at = 0.0
        self._since: float | None = None

    def start(self, look: Activity, at: float) -> None:
        """Take ``look``, made at ``at`` (monotonic), as the look before the next."""
        self._before, self._at = look, at

    def look(self, now: Activity, at: float) -> float:
        """Seconds the processes have looked idle on end, with ``now`` made at ``at``."""
        before = self._before
        idle = (
            before is not None
            and not (now.busy if self.timers_busy else now.running)
            and now.cpu_ns == before.cpu_ns
            and now.pids == before.pids
        )
        if not idle:
            self._since = None
        elif self._since is None:
            self._since = self._at
        self._before, self._at = now, at
        return 0.0 if self._since is None else at - self._since


class ServerActivity:
    """Looks at the processes of the server started as ``pid`` (see the module's docstring).

    Args:
        pid: the process wirefault started (a shell that ran the command, or the
            server itself).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._owned: set[int] = set()

    def look(self) -> Activity | None:
        """The server's processes now; None when they cannot be seen (or it has exited)."""
        pids: list[int] = []
        busy = running = False
        todo = [self.pid]
        while todo:
            if len(pids) >= _MOST_PROCESSES:
                return None  # too many to follow: what is not looked at could be working
            pid = todo.pop()
            threads = _threads(pid)
            if threads is None:
                if pid == self.pid:
                    return None
                continue  # a child that has just exited
            pids.append(pid)
            for tid in threads:
                state, on_timer, children = _thread(pid, tid)
                if children is None:
                    return None  # no children file (a kernel without it): the tree is unknown
                running = running or state in _BUSY_STATES
                busy = busy or running or on_timer
                todo.extend(children)
        cpu = 0
        for pid in pids:
            used = _cpu_ns(pid)
            if used is None:
                return None
            cpu += used
        return Activity(frozenset(pids), cpu, busy, running)

    def owns(self, inode: int, activity: Activity) -> bool:
        """Whether one of ``activity``'s processes holds the socket ``inode`` open."""
        if inode in self._owned:
            return True
        if not inode:
            return False
        wanted = f"socket:[{inode}]"
        for pid in activity.pids:
            if wanted in _descriptors(pid):
                if len(self._owned) >= _MOST_INODES:
                    self._owned.clear()
                self._owned.add(inode)
                return True
        return False

    def holding(self, inodes: set[int], activity: Activity) -> set[int]:
        """Which of the sockets ``inodes`` one of ``activity``'s processes holds open now.

        A fresh look at their descriptors, unlike :meth:`owns`: a socket the server
        has closed since is not held any more.
        """
        wanted = {f"socket:[{inode}]": inode for inode in inodes if inode}
        held: set[int] = set()
        for pid in activity.pids:
            held.update(wanted[name] for name in _descriptors(pid) & wanted.keys())
        return held

    def polled(self, inodes: set[int], activity: Activity) -> set[int]:
        """Which of the sockets ``inodes`` an epoll set of ``activity``'s processes still
        waits on (armed: a one-shot entry that has fired waits on nothing).

        Read from each epoll descriptor's ``/proc/PID/fdinfo`` (``tfd: ... events: ...
        ino: ...``). An event loop that uses edge-triggered epoll, as nginx does, can
        miss a reset that came while it was busy with the connection, and then acts on
        it only at its next timer: the socket is still watched, not forgotten.
        """
        found: set[int] = set()
        for pid in activity.pids:
            for name, target in _links(pid).items():
                if target == "anon_inode:[eventpoll]":
                    found.update(_armed_inodes(pid, name) & inodes)
        return found


#: epoll's flags that say how to report, not what to wait for (EPOLLEXCLUSIVE,
#: EPOLLWAKEUP, EPOLLONESHOT, EPOLLET): an entry with none of the rest waits on nothing.
_EPOLL_MODE_BITS = 0xF0000000


def _armed_inodes(pid: int, fd: str) -> set[int]:
    """The inodes of the files epoll set ``fd`` of process ``pid`` waits on, armed."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as f:
            info = f.read()
    except OSError:
        return set()
    found = set()
    for line in info.splitlines():
        if not line.startswith(b"tfd:"):
            continue
        fields = line.split()
        try:
            events = int(fields[fields.index(b"events:") + 1], 16)
            inode = next(int(f[4:], 16) for f in fields if f.startswith(b"ino:"))
        except (ValueError, IndexError, StopIteration):
            continue
        if events & ~_EPOLL_MODE_BITS:
            found.add(inode)
    return found


def _threads(pid: int) -> list[str] | None:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None


def _thread(pid: int, tid: str) -> tuple[int, bool, list[int] | None]:
    """A thread's state (a byte of ``RSDZTtXIWKP``; 0: it has just ended), whether it is
    asleep on a timer of its own, and the children it forked (None: the kernel does not
    say)."""
    base = f"/proc/{pid}/task/{tid}"
    try:
        with open(f"{base}/stat", "rb") as f:
            stat = f.read()
        with open(f"{base}/wchan", "rb") as f:
            sleeping_in = f.read()
    except OSError:
        return 0, False, []  # it has just ended
    try:
        with open(f"{base}/children", "rb") as f:
            children: list[int] | None = [int(child) for child in f.read().split()]
    except FileNotFoundError:
        children = None if os.path.isdir(base) else []
    except OSError:
        children = []  # it has just ended
    state = _state(stat)
    if sleeping_in == b"0" and state in b"SD":
        # Asleep when its stat was read, yet no wait channel: it may have woken in between
        # (or this kernel shows none); its state now says which.
        try:
            with open(f"{base}/stat", "rb") as f:
                state = _state(f.read())
        except OSError:
            return 0, False, []  # it has just ended
    return state, b"nanosleep" in sleeping_in, children


def _state(stat: bytes) -> int:
    """The state byte of a ``/proc/.../stat`` line (0: none)."""
    # pid (comm) state ...; comm may contain spaces and parentheses.
    at = stat.rfind(b")") + 2
    return stat[at] if at < len(stat) else 0


def _cpu_ns(pid: int) -> int | None:
    """CPU nanoseconds process ``pid`` has used, all its threads (None: gone, or not Linux)."""
    try:
        return time.clock_gettime_ns((~pid << 3) | 2)  # CPUCLOCK_SCHED of the process
    except (OSError, OverflowError):
        return None


def _descriptors(pid: int) -> set[str]:
    """What the descriptors of process ``pid`` point at (``socket:[123]``, paths, ...)."""
    return set(_links(pid).values())


def _links(pid: int) -> dict[str, str]:
    """Each descriptor of process ``pid`` (its number) and what it points at."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return {}
    found = {}
    for name in names:
        try:
            found[name] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
    return found
