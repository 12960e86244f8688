"""The guardian: a tiny process that stops what wirefault started once wirefault is gone.

Run by :mod:`wirefault._processes` as ``python -I -S _guardian.py`` (standard
library only, no site-packages: it starts in milliseconds) in its own session,
with the read end of a pipe as its stdin. Its owner writes one line per
process group it starts (``+PGID``) and stops (``-PGID``). The write end is the
owner's alone (close-on-exec, closed in forked children), so the pipe reaches
end-of-file exactly when the owner has exited, however it died: a SIGKILL
closes a process's descriptors like any exit. Then the guardian sends SIGTERM
to every group still listed, gives them ``GRACE`` seconds, SIGKILLs what is
left, and exits. After a clean exit the list is empty and it exits at once.

Its own session keeps a terminal's Ctrl-C (sent to the foreground group) away
from it; it ignores SIGINT besides. It detaches at once (forks, and the first
process exits): it is nobody's child, so its owner never has to reap it and never
counts it among its children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

#: Seconds the abandoned groups get to stop on SIGTERM before SIGKILL. Short: their
#: owner is gone, and a worker's guardian acts only once the worker itself has ended.
GRACE = 0.5


def _signal(groups: set[int], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def group_stats(pgid: int) -> list[list[bytes]] | None:
    """The ``/proc/PID/stat`` fields after ``comm`` of every process of group ``pgid``.

    Each list starts with the state, then ppid, pgrp, ... (``proc(5)``'s fields 3
    on). None without ``/proc``.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    found = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # it has just ended
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
        rest = stat[stat.rfind(b")") + 2 :]
        if int(rest.split(maxsplit=3)[2]) == pgid:
            found.append(rest.split())
    return found


def group_running(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs; zombies (sockets closed) do not count.

    Orphans are reaped by init, which may take a second or more (in some
    containers, never): so on Linux the group is read from ``/proc``.
    (:mod:`wirefault._processes` uses this too; it lives here, in the standard
    library only module the guardian runs as.)
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stats = group_stats(pgid)
    if stats is None:
        return True  # no /proc: a zombie looks alive, and the wait runs to its bound
    return any(fields[0] not in (b"Z", b"X") for fields in stats)


def main() -> None:
    """Read ``+PGID`` / ``-PGID`` lines until end-of-file, then stop the groups left."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.fork():
        os._exit(0)  # the owner reaps this first process; the guardian goes on detached
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        try:
            pgid = int(line[1:])
        except ValueError:
            continue
        if line.startswith(b"+") and pgid > 1:
            groups.add(pgid)
        elif line.startswith(b"-"):
            groups.discard(pgid)
    if not groups:
        return
    _signal(groups, signal.SIGTERM)
    ends = time.monotonic() + GRACE
    while any(group_running(g) for g in groups) and time.monotonic() < ends:
        time.sleep(0.01)  # no event tells when another process's child exits
    _signal(groups, signal.SIGKILL)


if __name__ == "__main__":
    main()
