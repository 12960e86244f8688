"""Which property plays next: every property early, in rounds that share the time fairly.

A campaign does not run its properties one after another. Each property's
examples are played in *rounds*: round ``k`` is one Hypothesis run of
``round_size(k)`` examples (1, then 5, 10, 20, 40, 80, then 100 each) with a
seed of its own (:func:`round_seed`), until the property has played its examples
(``--max-examples``, or the profile's), failed, or run out of examples to try.
The rounds share the example database, so a failure saved by one is tried
first by the next. Every property's :data:`EARLY_ROUNDS` go first, round by round
in the order given (the cheap properties come first in that order); after them
the next round goes to the property that has had the least time so far (a round
still playing counts for the time it has taken): so

* every property plays its simplest scenario (Hypothesis's first example, which
  finds the bugs that any scenario of the property shows) within the first
  second or so, and a few more soon after; the rounds after those grow;
* under a time budget every property gets an equal share of the time, and cheap
  ones play more examples in it;
* a failure is found as soon as the property that finds it gets a turn;
* the memory a Hypothesis run holds (every example's choices and drawn values,
  kept for shrinking) is bounded by one round's examples.

One schedule serves one process (:mod:`wirefault.campaign`) and the parent of
``--workers N`` alike (:mod:`wirefault.cli._workers`), where free workers take
rounds as they come, several of one property at once if need be. The round
sizes and seeds do not depend on timing, so ``--seed`` draws the same examples
however the rounds are ordered or shared out.

Pure bookkeeping: no processes, the clock passed in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = [
    "FIRST_ROUND",
    "MAX_ROUND",
    "SECOND_ROUND",
    "Round",
    "Schedule",
    "round_seed",
    "round_size",
]

#: Examples in a property's first round: one, its simplest scenario, so that every
#: property has played one within the first second or so.
FIRST_ROUND = 1
#: Examples in the second round; rounds double from it up to ``MAX_ROUND``.
SECOND_ROUND = 5
#: Rounds every property gets before a failure found meanwhile is shrunk: its simplest
#: scenario, then a few more (1 + 5 examples), so that one property's failure (its
#: shrinking and verifying take seconds) does not keep the others from their early
#: examples, where most bugs show.
EARLY_ROUNDS = 2
#: Most examples in a round. Hypothesis keeps every example of a run for shrinking, so
#: this bounds what a run holds.
MAX_ROUND = 100


def round_size(index: int) -> int:
    """Examples in round ``index`` (0-based) of a property: 1, 5, 10, 20, 40, 80, 100, 100...

    Each round is a Hypothesis run, and each starts with the simplest scenario: the
    campaign does not play it again after the first round, and asks Hypothesis for
    one more example instead (see ``Campaign.run_round``).
    """
    if index == 0:
        return FIRST_ROUND
    return min(SECOND_ROUND << min(index - 1, 16), MAX_ROUND)


def round_seed(seed: int | None, index: int) -> int | None:
    """The Hypothesis seed of round ``index`` under the command's ``seed`` (None stays None).

    A stable hash of both, so no two rounds draw the same examples and the same
    command draws the same ones again.
    """
    if seed is None:
        return None
    digest = hashlib.blake2b(f"wirefault-round:{seed}:{index}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


@dataclass(frozen=True)
class Round:
    """Round ``index`` of ``property``: ``examples`` examples drawn with ``seed``."""

    property: str
    index: int
    examples: int
    seed: int | None


@dataclass
class _Track:
    """One property's rounds so far."""

    order: int
    given: int = 0  # examples handed out in rounds, finished or playing
    played: int = 0  # examples played by finished rounds
    seconds: float = 0.0  # time the finished rounds took
    rounds: int = 0  # rounds handed out
    running: dict[int, float] = field(default_factory=dict)  # round index -> start
    over: bool = False  # failed or ran out of examples to try: no more rounds
    cut: bool = False  # a round was cut short (time budget, interrupt)

    def time_used(self, now: float) -> float:
        return self.seconds + sum(max(now - began, 0.0) for began in self.running.values())

    def priority(self, now: float) -> tuple[int, float, int, float, int]:
        if self.rounds < EARLY_ROUNDS:
            # Round by round, in the order given: which of two small rounds took a few
            # microseconds longer is noise, not a reason to go first.
            return (self.rounds, 0.0, 0, 0.0, self.order)
        return (EARLY_ROUNDS, self.time_used(now), len(self.running), self.cost(), self.order)

    def cost(self) -> float:
        """Seconds per example so far (0 before any: unknown is not expensive)."""
        return self.seconds / self.played if self.played else 0.0


class Schedule:
    """The rounds of a campaign.

    Args:
        properties: the property names, in the order their first rounds go.
        total: examples per property.
        seed: the command's seed (None: Hypothesis picks each round's).
    """

    def __init__(self, properties: list[str], *, total: int, seed: int | None) -> None:
        self.properties = list(properties)
        self.total = total
        self.seed = seed
        self._tracks = {name: _Track(order=i) for i, name in enumerate(properties)}
        self._stopped = False

    def next_round(self, now: float) -> Round | None:
        """The round to play now, or None when no property has examples left to hand out."""
        if self._stopped:
            return None
        ready = [
            (name, t) for name, t in self._tracks.items() if not t.over and t.given < self.total
        ]
        if not ready:
            return None
        # Least time first; then fewest rounds playing (free workers asking at once take
        # different properties), the cheapest per example, and the order given.
        name, track = min(ready, key=lambda item: item[1].priority(now))
        index = track.rounds
        size = min(round_size(index), self.total - track.given)
        track.rounds += 1
        track.given += size
        track.running[index] = now
        return Round(name, index, size, round_seed(self.seed, index))

    def finished(
        self,
        played: Round,
        *,
        examples: int,
        seconds: float,
        failed: bool = False,
        exhausted: bool = False,
        cut: bool = False,
    ) -> None:
        """Note how ``played`` went.

        Args:
            examples: examples it played.
            seconds: how long it took.
            failed: it found a failure: the property gets no more rounds.
            exhausted: it played fewer examples than asked because Hypothesis had
                no more to try: the property gets no more rounds.
            cut: the time budget or an interrupt cut it short.
        """
        track = self._tracks[played.property]
        track.running.pop(played.index, None)
        track.played += examples
        track.seconds += seconds
        track.over = track.over or failed or exhausted
        track.cut = track.cut or cut

    def stop(self) -> None:
        """Hand out no more rounds (the time budget is spent, or ``-x`` met a failure)."""
        self._stopped = True

    def drop(self, name: str) -> None:
        """Hand out no more rounds of property ``name`` (a failure of it is being shrunk)."""
        self._tracks[name].over = True

    def spent(self, name: str, seconds: float, examples: int) -> None:
        """Count work on ``name`` outside its rounds (shrinking its failure later)."""
        self._tracks[name].seconds += seconds
        self._tracks[name].played += examples

    def unstarted(self) -> list[str]:
        """Properties that have not had their :data:`EARLY_ROUNDS` yet (and may still get
        them): a failure found meanwhile waits to be shrunk (see the campaign)."""
        return [
            n
            for n, t in self._tracks.items()
            if t.rounds < EARLY_ROUNDS and not t.over and t.given < self.total
        ]

    def running(self) -> bool:
        """Whether some round handed out has not finished yet."""
        return any(t.running for t in self._tracks.values())

    def played(self, name: str) -> int:
        """Examples property ``name``'s finished rounds played."""
        return self._tracks[name].played

    def seconds(self, name: str) -> float:
        """Seconds property ``name``'s finished rounds took (work, not wall time)."""
        return self._tracks[name].seconds

    def complete(self, name: str) -> bool:
        """Whether property ``name`` ran to its end: its examples played, or it failed or
        ran out of examples to try, with no round cut short."""
        track = self._tracks[name]
        return not track.cut and not track.running and (track.over or track.given >= self.total)
