"""``wirefault fuzz --workers N``: every property's rounds shared out over N worker processes.

Each worker is ``wirefault fuzz`` itself, started with ``--worker``: it starts its own
server (with ``--start``, on its own port), probes it, says it is ready, then plays
the rounds the parent sends it, one at a time, each a Hypothesis run of one
property (:mod:`wirefault.schedule`), and sends back how each went. A free worker
takes the next round of one shared :class:`~wirefault.schedule.Schedule`: every
property early, then whichever has had the least time, so the workers stay busy
however uneven the properties are. A worker whose round finds a failing example
says so at once (``{"found": NAME}``): the property gets no more rounds while the
worker shrinks, verifies and saves it. The workers share the output folder:
replay files (never overwritten) and the example database. The parent merges
the results (:mod:`wirefault.cli._merge`) and reports them as one run.

The command's clock is the parent's: it passes its launch and budget end to
every worker (``time.monotonic()`` is shared by the machine's processes), so a
worker's examples, shrinking and verification stop at the command's budget.
Past it the parent starts no round; a worker still busy half an overrun allowance
later is stopped. With ``-x`` the first failure reported stops every other worker.

The parent imports no engine (no Hypothesis) before the workers start. Messages are
JSON lines: rounds on a worker's stdin, ``{"ready": ...}``, ``{"found": ...}`` and
``{"outcome": ...}`` on its stdout (where nothing else is written: the worker points
its own prints at stderr). A worker that exits with an error stops the others, and
its last stderr line is the one error the parent prints.

Workers run in their own sessions, registered with the guardian
(:mod:`wirefault._processes`), so a Ctrl-C at the terminal reaches the parent
alone; on Ctrl-C or SIGTERM it sends every worker one SIGTERM (each then stops its
server, as ``wirefault fuzz`` does), waits for them, and only then exits 130. A
worker still running after ``STOP_GRACE`` seconds gets a second SIGTERM, then
SIGKILL. If the parent itself is killed, its guardian stops the workers, and
theirs stop their servers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wirefault._processes import release_group, signals_held, spawn_group
from wirefault.cli._merge import MergedRun, merge_rounds, result_from_json
from wirefault.cutoff import Cutoff, allowance
from wirefault.errors import TargetError, WirefaultError
from wirefault.results import EXITFIRST, OUT_OF_TIME, PropertyResult
from wirefault.schedule import Round, Schedule

__all__ = ["WorkerFailed", "run_workers", "worker_argv"]

#: Seconds a worker gets to stop (and stop its server) after each of two SIGTERMs
#: before a SIGKILL; a server that ignores SIGTERM takes a worker 5 s to kill.
STOP_GRACE = 10.0
#: Seconds between two looks at the clock and the signals while waiting for workers.
_TICK = 0.2

#: Options passed on to every worker unchanged, by argparse dest.
FORWARDED = (
    "codec",
    "codec_max_frame",
    "codec_header_bytes",
    "codec_byteorder",
    "codec_max_line",
    "codec_length_offset",
    "codec_length_bytes",
    "codec_length_adjust",
    "requests",
    "preamble",
    "probe",
    "properties",
    "skip_rule",
    "rule_level",
    "start",
    "max_examples",
    "seed",
    "deadline",
    "shrink_budget",
    "backend",
    "profile",
    "out",
)


class WorkerFailed(WirefaultError):
    """A worker stopped with an error; carries the status the command exits with."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def worker_argv(args: argparse.Namespace, cutoff: Cutoff | None = None) -> list[str]:
    """The command line of a worker of the run ``args`` asks for, on the clock ``cutoff``."""
    argv = [sys.executable, "-m", "wirefault", "fuzz", args.target]
    for dest in FORWARDED:
        value = getattr(args, dest, None)
        if value is not None:
            argv += [f"--{dest.removeprefix('codec_').replace('_', '-')}", str(value)]
    for oracle in args.oracle:
        argv += ["--oracle", oracle]
    if args.greeting:
        argv.append("--greeting")
    if cutoff is not None:
        argv += ["--run-started", repr(cutoff.started)]
        if cutoff.ends is not None:
            argv += ["--run-ends", repr(cutoff.ends)]
    return [*argv, "--worker"]


def run_workers(args: argparse.Namespace, cutoff: Cutoff) -> int:
    """Run the campaign over ``args.workers`` processes; returns the exit status.

    Raises:
        WorkerFailed: a worker stopped with a usage, setup or internal error, or died.
        KeyboardInterrupt: a SIGINT or SIGTERM came (every worker is stopped first).
    """
    count = args.workers if args.max_examples is None else min(args.workers, args.max_examples)
    with tempfile.TemporaryDirectory(prefix="wirefault-workers-") as tmp:
        pool = _WorkerPool(worker_argv(args, cutoff), count, Path(tmp))
        grace = STOP_GRACE
        try:
            dispatch = _Dispatch(args, pool, cutoff)
            outcome = dispatch.run()
            grace = dispatch.stop_grace()
        finally:
            pool.stop(grace)
    return _emit(args, outcome)


class _Dispatch:
    """Hands rounds to workers as they free up and collects what they send back."""

    def __init__(self, args: argparse.Namespace, pool: _WorkerPool, cutoff: Cutoff) -> None:
        self.args = args
        self.pool = pool
        self.cutoff = cutoff
        # Past the budget, a worker still busy this much later is stopped.
        slack = allowance(args.time_budget, args.deadline) / 2 if args.time_budget else 0.0
        self.stragglers_at = cutoff.ends + slack if cutoff.ends is not None else None
        self.schedule: Schedule | None = None
        self.ready: dict[str, Any] = {}
        self.running: dict[int, Round] = {}
        self.concluded: list[tuple[int, PropertyResult]] = []
        self.notes: dict[str, dict[str, None]] = {}  # by property, distinct, in order
        # Each property's opening (its first example, passed), as JSON, from the worker
        # that played it, so that the others do not play it again.
        self.openings: dict[str, Any] = {}
        self.rounds = [0] * pool.count
        self.examples = [0] * pool.count
        self.busy = [0.0] * pool.count
        self.stopped = ""  # why no more rounds start: OUT_OF_TIME, EXITFIRST

    def run(self) -> _Outcome:
        """Until every worker has exited (or is left to be stopped); the merged result."""
        while self.pool.open:
            got = self.pool.next_message(_TICK)
            if self.cutoff.interrupted:
                raise KeyboardInterrupt  # the one the handler raised may have been lost
            if got is None:
                if self._out_of_time():
                    break
                continue
            index, message = got
            if message is None:
                self._exited(index)
            elif "ready" in message:
                self._ready(message["ready"])
                self._next(index)
            elif "found" in message:
                if self.schedule is not None:
                    self.schedule.drop(message["found"])
            else:
                self._finished(index, message["outcome"])
                self._next(index)
        if self.schedule is None:
            if self.stopped == OUT_OF_TIME:
                raise TargetError(
                    f"the time budget ({self.args.time_budget:g}s) ran out before the workers "
                    "were ready to fuzz; give a larger --time-budget"
                )
            raise WirefaultError("internal: every worker exited without a word (a bug)")
        merged = merge_rounds(
            self.schedule,
            self.concluded,
            skipped=self.ready.get("skipped", {}),
            order=self.ready.get("order", self.schedule.properties),
            stopped=self.stopped,
            workers=self.pool.count,
            elapsed=self.cutoff.elapsed(),
            notes={name: list(seen) for name, seen in self.notes.items()},
        )
        per_worker = [
            {
                "runs": self.rounds[i],
                "examples": self.examples[i],
                "elapsed_s": round(self.busy[i], 3),
            }
            for i in range(self.pool.count)
        ]
        return _Outcome(merged, self.ready, per_worker)

    def stop_grace(self) -> float:
        """Seconds each worker gets to stop on SIGTERM: short once past the budget."""
        if self.stragglers_at is None or not self.cutoff.passed():
            return STOP_GRACE
        return max(self.stragglers_at - time.monotonic(), 0.1)

    def _out_of_time(self) -> bool:
        """Past the budget: start no more rounds; past the slack: stop waiting."""
        if self.cutoff.ends is None or not self.cutoff.passed():
            return False
        self._stop(OUT_OF_TIME)
        assert self.stragglers_at is not None
        return time.monotonic() >= self.stragglers_at

    def _stop(self, why: str) -> None:
        if self.schedule is not None:
            self.schedule.stop()
        self.stopped = self.stopped or why
        for index in range(self.pool.count):
            if index not in self.running:
                self.pool.finish(index)

    def _ready(self, ready: dict[str, Any]) -> None:
        if self.schedule is not None:
            return
        self.ready = ready
        self.schedule = Schedule(
            ready["properties"], total=int(ready["examples"]), seed=self.args.seed
        )

    def _finished(self, index: int, outcome: dict[str, Any]) -> None:
        planned = self.running.pop(index)
        assert self.schedule is not None
        result = result_from_json(outcome["result"]) if outcome["result"] else None
        if result is not None:
            self.concluded.append((index, result))
        self.notes.setdefault(planned.property, {}).update(
            dict.fromkeys(str(n) for n in outcome.get("notes", []))
        )
        if outcome.get("opening"):
            self.openings.setdefault(planned.property, outcome["opening"])
        self.rounds[index] += 1
        self.examples[index] += int(outcome["examples"])
        self.busy[index] += float(outcome["seconds"])
        self.schedule.finished(
            planned,
            examples=int(outcome["examples"]),
            seconds=float(outcome["seconds"]),
            failed=result is not None,
            exhausted=bool(outcome["exhausted"]),
            cut=bool(outcome["cut"]),
        )
        if self.args.exitfirst and result is not None and result.failure is not None:
            self._stop(EXITFIRST)
            self.pool.stop_now(list(self.running))

    def _next(self, index: int) -> None:
        assert self.schedule is not None
        if self.cutoff.passed():
            self._stop(OUT_OF_TIME)
        planned = self.schedule.next_round(time.monotonic())
        if planned is None:
            self.pool.finish(index)
            return
        self.running[index] = planned
        self.pool.send(
            index,
            {"property": planned.property, "index": planned.index,
             "examples": planned.examples, "seed": planned.seed,
             "opening": self.openings.get(planned.property)},
        )  # fmt: skip

    def _exited(self, index: int) -> None:
        status = self.pool.status(index)
        if self.stopped and index in self.pool.stopped:
            return  # stopped by us (-x): its round stays unfinished, the property incomplete
        if status != 0 or index in self.running:
            raise WorkerFailed(*self.pool.failure(index, status))


@dataclass(frozen=True)
class _Outcome:
    """What the workers did: the merged result, how they were set up, what each ran."""

    merged: MergedRun
    ready: dict[str, Any]
    per_worker: list[dict[str, Any]]


class _WorkerPool:
    """The worker processes: started at once, each listened to by one thread."""

    def __init__(self, argv: list[str], count: int, scratch: Path) -> None:
        self.count = count
        self.open = count  # workers not yet known to have exited
        self.stopped: set[int] = set()  # workers we sent SIGTERM in the middle of a round
        self._procs: list[subprocess.Popen[bytes]] = []
        self._stderr: list[Path] = []
        self._messages: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
        try:
            for index in range(count):
                self._stderr.append(scratch / f"worker-{index}.stderr")
                with signals_held(), self._stderr[-1].open("wb") as err:
                    self._procs.append(_spawn(argv, err))
                threading.Thread(target=self._listen, args=(index,), daemon=True).start()
        except BaseException:
            self.stop()
            raise

    def _listen(self, index: int) -> None:
        proc = self._procs[index]
        assert proc.stdout is not None
        for line in proc.stdout:
            self._messages.put((index, json.loads(line)))
        proc.wait()
        self._messages.put((index, None))

    def next_message(self, timeout: float) -> tuple[int, dict[str, Any] | None] | None:
        """The next message of any worker within ``timeout`` seconds, else None.

        A message is (its index, the message, or None when it exited).
        """
        try:
            index, message = self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is None:
            self.open -= 1
        return index, message

    def send(self, index: int, message: dict[str, Any]) -> None:
        """Send ``message`` to worker ``index`` (if it died, its exit is the news)."""
        stdin = self._procs[index].stdin
        assert stdin is not None
        with contextlib.suppress(OSError):
            stdin.write(json.dumps(message).encode() + b"\n")
            stdin.flush()

    def finish(self, index: int) -> None:
        """Tell worker ``index`` there is nothing more: it stops its server and exits."""
        stdin = self._procs[index].stdin
        assert stdin is not None
        with contextlib.suppress(OSError):
            stdin.close()

    def status(self, index: int) -> int:
        """The exit status of worker ``index`` (which has exited)."""
        return self._procs[index].wait()

    def stop_now(self, indices: list[int]) -> None:
        """SIGTERM workers ``indices`` without waiting (their rounds are not wanted any more)."""
        for index in indices:
            self.stopped.add(index)
            with contextlib.suppress(OSError):
                self._procs[index].send_signal(signal.SIGTERM)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM every worker still running and wait for it; SIGKILL after the grace.

        A second SIGTERM goes out before the SIGKILL: a SIGKILLed worker cannot stop
        the server it started (its guardian then does, a moment later).
        """
        running = [p for p in self._procs if p.poll() is None]
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            for proc in running:
                proc.send_signal(sig)
            until = time.monotonic() + grace
            for proc in running:
                if sig == signal.SIGKILL:
                    proc.wait()
                    continue
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(until - time.monotonic(), 0.0))
            running = [p for p in running if p.returncode is None]
            if not running:
                break
        for proc in self._procs:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            release_group(proc.pid)

    def failure(self, index: int, status: int) -> tuple[str, int]:
        """The one-line message and exit status for worker ``index`` that exited ``status``."""
        who = f"worker {index + 1} of {self.count}"
        stderr = self._stderr[index].read_text(encoding="utf-8", errors="replace")
        if os.environ.get("WIREFAULT_DEBUG"):
            sys.stderr.write(stderr)
        if status < 0:
            return f"{who} was killed by {signal.Signals(-status).name}", 3
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        said = [line for line in lines if line.startswith("wirefault:")]
        last = said[-1] if said else (lines[-1] if lines else "")
        message = last.removeprefix("wirefault: error: ").removeprefix("wirefault: ")
        if status == 0:
            message = "internal: it exited in the middle of a run (a bug)"
        exit_status = status if status in (2, 3, 130) else 3
        return f"{message or 'no message on stderr'} ({who}, exit status {status})", exit_status


def _spawn(argv: list[str], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    # Its own session: a terminal's Ctrl-C goes to the parent alone, which then
    # stops each worker with exactly one SIGTERM (a second signal could cut short
    # the stopping of the worker's server).
    return spawn_group(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)


def _emit(args: argparse.Namespace, outcome: _Outcome) -> int:
    """Print the merged summary (JSON or text) and write the JUnit file; returns 0 or 1."""
    from wirefault.report.junit import suite_name, write_junit
    from wirefault.report.summary import summary_json, summary_text

    result = outcome.merged.result
    if args.junit:
        suite = suite_name(args.target, args.start)
        write_junit(
            result, args.junit, suite=suite, codec=outcome.ready["codec"], target=args.target
        )
    if args.json:
        ready = outcome.ready
        summary = summary_json(
            result,
            target=args.target,
            transport=ready["transport"],
            codec=ready["codec"],
            backend=ready["backend"],
            seed=args.seed,
        )
        for failure in summary["failures"]:
            failure["found_by_workers"] = outcome.merged.found_by[failure["property"]]
        summary["workers"] = len(outcome.per_worker)
        summary["per_worker"] = outcome.per_worker
        print(json.dumps(summary, indent=1))
    elif not args.quiet or result.failures:
        print(summary_text(result, verbose=args.verbose))
        print(
            f"over {len(outcome.per_worker)} workers: "
            + ", ".join(
                f"{w['examples']} examples in {w['elapsed_s']:.1f}s" for w in outcome.per_worker
            )
        )
    return 1 if result.failures else 0
