"""``wirefault fuzz --workers N``: every property's runs shared out over N worker processes.

Each worker is ``wirefault fuzz`` itself, started with ``--worker``: it starts its own
server (with ``--start``, on its own port), probes it, says it is ready, then plays
the runs the parent sends it, one at a time, each a campaign of one property with
the run's examples, seed and time budget, and sends each result back. Every
property's examples are cut into runs (two per worker when each keeps 20 examples
or more) that free workers take from one queue (:mod:`wirefault.cli._schedule`), so
the workers stay equally busy however uneven the properties are (large-payload
alone can be half a campaign). The workers share the output folder: replay files
(never overwritten) and the example database. The parent merges the results
(:mod:`wirefault.cli._merge`) and reports them as one run.

The parent imports no engine (no Hypothesis) before the workers start. Messages are
JSON lines: runs on a worker's stdin, ``{"ready": ...}`` and ``{"result": ...}`` on
its stdout (where nothing else is written: the worker points its own prints at
stderr). A worker that exits with an error stops the others, and its last stderr
line is the one error the parent prints.

Workers run in their own sessions, so a Ctrl-C at the terminal reaches the parent
alone; on Ctrl-C or SIGTERM it sends every worker one SIGTERM (each then stops its
server, as ``wirefault fuzz`` does), waits for them, and only then exits 130. A
worker still running after ``STOP_GRACE`` seconds gets a second SIGTERM, then SIGKILL.
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

from wirefault.cli._merge import MergedRun, merge_runs, result_from_json
from wirefault.cli._schedule import Run, Schedule, runs_per_property
from wirefault.errors import WirefaultError
from wirefault.results import PropertyResult

__all__ = ["WorkerFailed", "run_workers", "worker_argv"]

#: Seconds a worker gets to stop (and stop its server) after each of two SIGTERMs
#: before a SIGKILL; a server that ignores SIGTERM takes a worker 5 s to kill.
STOP_GRACE = 10.0

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


def worker_argv(args: argparse.Namespace) -> list[str]:
    """The command line of a worker of the run ``args`` asks for."""
    argv = [sys.executable, "-m", "wirefault", "fuzz", args.target]
    for dest in FORWARDED:
        value = getattr(args, dest, None)
        if value is not None:
            argv += [f"--{dest.removeprefix('codec_').replace('_', '-')}", str(value)]
    for oracle in args.oracle:
        argv += ["--oracle", oracle]
    if args.greeting:
        argv.append("--greeting")
    return [*argv, "--worker"]


def run_workers(args: argparse.Namespace) -> int:
    """Run the campaign over ``args.workers`` processes; returns the exit status.

    Raises:
        WorkerFailed: a worker stopped with a usage, setup or internal error, or died.
    """
    count = args.workers if args.max_examples is None else min(args.workers, args.max_examples)
    with tempfile.TemporaryDirectory(prefix="wirefault-workers-") as tmp:
        pool = _WorkerPool(worker_argv(args), count, Path(tmp))
        try:
            outcome = _Dispatch(args, pool).run()
        finally:
            pool.stop()
    return _emit(args, outcome)


class _Dispatch:
    """Hands runs to workers as they free up and collects what they send back."""

    def __init__(self, args: argparse.Namespace, pool: _WorkerPool) -> None:
        self.args = args
        self.pool = pool
        self.schedule: Schedule | None = None
        self.ready: dict[str, Any] = {}
        self.running: dict[int, Run] = {}
        self.results: list[tuple[int, PropertyResult]] = []
        self.busy = [0.0] * pool.count
        self.began = self.ended = 0.0

    def run(self) -> _Outcome:
        """Until every worker has exited; the merged result."""
        while self.pool.open:
            index, message = self.pool.next_message()
            if message is None:
                self._exited(index)
                continue
            if "ready" in message:
                self._ready(message["ready"])
            else:
                self._finished(index, message)
            self._next(index)
        if self.schedule is None:
            raise WirefaultError("internal: every worker exited without a word (a bug)")
        merged = merge_runs(
            self.schedule.properties,
            self.results,
            workers=self.pool.count,
            elapsed=max(self.ended - self.began, 0.0),
        )
        per_worker = [
            {
                "runs": sum(1 for w, _ in self.results if w == i),
                "examples": sum(r.examples for w, r in self.results if w == i),
                "elapsed_s": round(seconds, 3),
            }
            for i, seconds in enumerate(self.busy)
        ]
        return _Outcome(merged, self.ready, per_worker)

    def _ready(self, ready: dict[str, Any]) -> None:
        if self.schedule is not None:
            return
        self.ready = ready
        self.began = self.ended = time.monotonic()
        self.schedule = Schedule(
            ready["properties"],
            total=int(ready["examples"]),
            chunks=runs_per_property(int(ready["examples"]), self.pool.count),
            seed=self.args.seed,
            workers=self.pool.count,
            budget=self.args.time_budget,
            now=self.began,
        )

    def _finished(self, index: int, message: dict[str, Any]) -> None:
        run = self.running.pop(index)
        result = result_from_json(message["result"])
        self.results.append((index, result))
        self.busy[index] += float(message["elapsed"])
        self.ended = time.monotonic()
        assert self.schedule is not None
        self.schedule.finished(run, seconds=result.elapsed, failed=result.failure is not None)

    def _next(self, index: int) -> None:
        assert self.schedule is not None
        run = self.schedule.next_run(time.monotonic())
        if run is None:
            self.pool.finish(index)
            return
        self.running[index] = run
        self.pool.send(
            index,
            {"property": run.property, "examples": run.examples, "seed": run.seed,
             "budget": run.budget},
        )  # fmt: skip

    def _exited(self, index: int) -> None:
        status = self.pool.status(index)
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
        self._procs: list[subprocess.Popen[bytes]] = []
        self._stderr: list[Path] = []
        self._messages: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
        try:
            for index in range(count):
                self._stderr.append(scratch / f"worker-{index}.stderr")
                with self._stderr[-1].open("wb") as err:
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

    def next_message(self) -> tuple[int, dict[str, Any] | None]:
        """The next message of any worker: (its index, the message, or None when it exited)."""
        index, message = self._messages.get()
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

    def stop(self) -> None:
        """SIGTERM every worker still running and wait for it; SIGKILL after the grace.

        A second SIGTERM goes out before the SIGKILL: a SIGKILLed worker cannot stop
        the server it started.
        """
        running = [p for p in self._procs if p.poll() is None]
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            for proc in running:
                proc.send_signal(sig)
            until = time.monotonic() + STOP_GRACE
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
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,
    )


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
