"""One round of a property: one Hypothesis run over its scenarios, and the ways it ends.

:func:`run_round` hands each scenario Hypothesis draws to a body (the campaign's:
play, judge, check the clock) and tells how the run ended. The body stops the run
by raising: a failing verdict becomes :class:`Failed`, which Hypothesis shrinks;
:class:`ShrinkOver` ends shrinking with the best failure so far; :class:`RoundFull`
ends a round whose scenarios sent enough; ``OutOfTime`` and ``KeyboardInterrupt``
come from the run's cutoff; :class:`SetupFailed` carries a setup error out.

Hypothesis saves the example under way as a failure when anything but a
KeyboardInterrupt leaves the test, so before any of the campaign's own ways of
stopping leaves it, the example database's gate is closed: an example never
played to its end is not kept and tried first next time.

When the run ends, what it kept (every value its examples drew, for shrinking)
becomes garbage in reference cycles, which Python's collector may leave for
several rounds, and their payloads with them: it is collected at once, and the
heap pages it held are given back to the system (glibc's ``malloc_trim``, as
Dask's workers do: freed megabyte payloads otherwise leave the heap fragmented,
and the process's RSS ratchets up with each round's peak).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable, Iterator
from typing import Literal

from hypothesis import Phase, Verbosity, given, settings
from hypothesis.errors import Flaky
from hypothesis.strategies import SearchStrategy

from wirefault.cutoff import OutOfTime
from wirefault.database import GatedDatabase
from wirefault.errors import WirefaultError
from wirefault.properties import Verdict
from wirefault.scenario import Scenario

__all__ = [
    "Ending",
    "Failed",
    "RoundFull",
    "SetupFailed",
    "ShrinkOver",
    "frozen_heap",
    "run_round",
]

#: How a round ended: its examples all played (or Hypothesis had no more to try); a
#: failure shrunk to its end, or as far as shrinking was allowed; enough bytes sent;
#: the time budget spent; a failure Hypothesis could not reproduce while shrinking.
Ending = Literal["done", "failed", "shrink over", "full", "out of time", "flaky"]


class SetupFailed(BaseException):
    """Carries a setup error out through Hypothesis without being shrunk."""

    def __init__(self, error: WirefaultError) -> None:
        super().__init__(str(error))
        self.error = error


class ShrinkOver(BaseException):
    """Ends shrinking: the shrink budget is spent, or the time budget needs what is left."""


class RoundFull(BaseException):
    """Ends a round early: its scenarios have sent enough for one round."""


class Failed(Exception):
    """Raised inside the Hypothesis test to mark a failing example."""


_STOPS = (OutOfTime, KeyboardInterrupt, ShrinkOver, RoundFull, SetupFailed)


def run_round(
    scenarios: SearchStrategy[Scenario],
    body: Callable[[Scenario], Verdict],
    *,
    profile: settings,
    examples: int,
    seed: int | None,
    database: GatedDatabase | None,
    key: bytes,
) -> Ending:
    """Run ``body`` on up to ``examples`` scenarios Hypothesis draws; how the run ended.

    Args:
        scenarios: the property's strategy.
        body: plays and judges one scenario; may raise the stops above.
        profile: the Hypothesis settings to start from.
        seed: the round's seed (None: Hypothesis picks one).
        database: the example database, behind its gate (None: none).
        key: the example database key the property's rounds share.

    Raises:
        WirefaultError: a setup problem, raised by the body as :class:`SetupFailed`.
        KeyboardInterrupt: a SIGINT or SIGTERM came.
    """

    @settings(
        profile,
        max_examples=examples,
        database=database,
        verbosity=Verbosity.quiet,
        print_blob=False,
        report_multiple_bugs=False,
        # The explain phase replays many variants of the shrunk failure to annotate
        # Hypothesis's own report, which a campaign never prints: a hundred plays
        # (each a failing one, a timeout at worst) that serve no verdict.
        phases=[phase for phase in profile.phases if phase != Phase.explain],
    )
    @given(scenarios)
    def test(scenario: Scenario) -> None:
        try:
            verdict = body(scenario)
        except _STOPS:
            if database is not None:
                database.open = False  # Hypothesis would keep this unfinished example
            raise
        if not verdict.ok:
            raise Failed(verdict.message)

    # Hypothesis keys its example database by the test's source, the same for every
    # property here: give each its own key through the attribute Hypothesis reads for
    # generated tests. Every round of a property shares it: a failure one round saves,
    # the next tries first.
    test._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
    if seed is not None:
        # What ``hypothesis.seed`` sets, without the ``database=None`` it adds: rounds
        # hand failures on through the database, seeded or not (a seeded campaign's
        # database is its own, in memory: see :class:`wirefault.campaign.Campaign`).
        test._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    if database is not None:
        database.open = True
    try:
        test()
        return "done"
    except SetupFailed as stop:
        raise stop.error from None
    except Failed:
        return "failed"
    except ShrinkOver:
        return "shrink over"
    except RoundFull:
        return "full"
    except OutOfTime:
        return "out of time"
    except Flaky:
        return "flaky"
    finally:
        if database is not None:
            database.open = True
        del test
        gc.collect()
        _trim_heap()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Leave what exists now out of the collections that end each round, until the end.

    Each round ends with a full collection, which walks every object the collector
    tracks: the engine's, Hypothesis's and the strategies' too, about 15 ms a round
    (a quarter of a `malformed` example's client CPU in a 300-example campaign).
    Those live as long as the campaign: frozen (``gc.freeze``), the collections walk
    only what the rounds made. Garbage already there is collected first, and all is
    unfrozen at the end, so a process that goes on (pytest) collects as before. Inside
    an outer frozen heap, nothing more is done.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on another C library."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def _trim_heap() -> None:
    """Give the heap's free pages back to the system, where the C library can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
