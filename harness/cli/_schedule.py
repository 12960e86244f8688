"""Which run of which property a free worker of ``wirefault fuzz --workers N`` takes next.

Every property's examples are cut into ``chunks`` runs (:func:`runs_per_property`;
the shares add up to the property's ``--max-examples``; run ``j`` has the seed
``SEED * chunks + j``, so no two runs draw the same examples and the same command
draws the same ones again). A worker that is free takes the next run from one shared
queue, so the workers stay equally busy however uneven the properties and their
examples are:

* first one run of every property, in order, to learn what each costs;
* then the runs of the property whose finished runs took longest, first (longest
  processing time first: what is left at the end is short, so the workers finish
  close together);
* a property that failed has no more runs (the failure is being shrunk already);
* with a time budget, a run gets a fair share of what is left of it, and none starts
  once it is spent.

Pure bookkeeping: no processes, the clock passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Run", "Schedule", "chunk_seed", "examples_share", "runs_per_property"]

#: Runs per property per worker when there are examples enough: more runs balance
#: the workers better.
RUNS_PER_WORKER = 2
#: Examples a run keeps at least, when it is one of more runs than workers: every run
#: starts with Hypothesis's simplest example (the same in every run) and a tenth of
#: small ones, so very short runs spend a larger part of the examples on those.
MIN_RUN_EXAMPLES = 20


def runs_per_property(total: int, workers: int) -> int:
    """How many runs to cut ``total`` examples into for ``workers`` workers.

    ``RUNS_PER_WORKER`` per worker, fewer while runs would have fewer than
    ``MIN_RUN_EXAMPLES`` examples, but never fewer than one per worker (nor more
    than one per example).
    """
    wanted = min(RUNS_PER_WORKER * workers, total // MIN_RUN_EXAMPLES)
    return max(1, min(max(wanted, workers), total))


def examples_share(total: int, count: int, index: int) -> int:
    """Share ``index`` of ``total`` examples cut in ``count``: they differ by at most one."""
    return total // count + (1 if index < total % count else 0)


def chunk_seed(seed: int | None, chunks: int, index: int) -> int | None:
    """The seed of run ``index`` of ``chunks``: ``seed * chunks + index`` (None stays None)."""
    return None if seed is None else seed * chunks + index


@dataclass(frozen=True)
class Run:
    """One run of one property: ``examples`` examples drawn with ``seed``.

    Attributes:
        budget: seconds it may take (its share of the time budget; None: no budget).
    """

    property: str
    index: int
    examples: int
    seed: int | None
    budget: float | None = None


@dataclass
class _Costs:
    """Seconds the finished runs of one property took."""

    seconds: list[float] = field(default_factory=list)

    def estimate(self) -> float:
        """Seconds a run is expected to take (infinite while none has finished)."""
        return sum(self.seconds) / len(self.seconds) if self.seconds else math.inf


class Schedule:
    """The queue of runs.

    Args:
        properties: the property names, in report order.
        total: examples per property.
        chunks: runs per property (at most ``total``).
        seed: the command's seed (None: every run lets Hypothesis choose).
        workers: how many workers share the queue (for time budget shares).
        budget: seconds every worker may spend (None: no limit).
        now: the clock's reading when the budget starts.
    """

    def __init__(
        self,
        properties: list[str],
        *,
        total: int,
        chunks: int,
        seed: int | None,
        workers: int,
        budget: float | None = None,
        now: float = 0.0,
    ) -> None:
        chunks = max(1, min(chunks, total))
        self.properties = list(properties)
        self._pending = [
            Run(name, j, examples_share(total, chunks, j), chunk_seed(seed, chunks, j))
            for j in range(chunks)
            for name in properties
        ]
        self._costs = {name: _Costs() for name in properties}
        self._started: set[str] = set()
        self._workers = workers
        self._ends = None if budget is None else now + budget

    def next_run(self, now: float) -> Run | None:
        """The run a free worker takes now, or None when there is none left to start."""
        if self._ends is not None and now >= self._ends:
            self._pending.clear()
        if not self._pending:
            return None
        unexplored = [r for r in self._pending if r.property not in self._started]
        if unexplored:
            run = unexplored[0]
        else:  # longest first; in queue order on a tie
            run = max(self._pending, key=lambda r: self._costs[r.property].estimate())
        self._pending.remove(run)
        self._started.add(run.property)
        if self._ends is None:
            return run
        # A fair share of what is left: this run and the ones still to come, over the workers.
        rounds = math.ceil((len(self._pending) + 1) / self._workers)
        return Run(run.property, run.index, run.examples, run.seed, (self._ends - now) / rounds)

    def finished(self, run: Run, *, seconds: float, failed: bool) -> None:
        """Note that ``run`` took ``seconds``; a failure cancels its property's other runs."""
        self._costs[run.property].seconds.append(seconds)
        if failed:
            self._pending = [r for r in self._pending if r.property != run.property]
