"""Test support for tests/strategies: codecs to draw for, settings, and shape helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.strategies import SearchStrategy

from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.scenario import Scenario, Send, Step

T = TypeVar("T")

#: Stream codecs with default and with narrow options (small maxima show edge cases).
STREAM_CODECS: dict[str, Codec] = {
    "raw": get_codec("raw"),
    "line": get_codec("line"),
    "line-16": get_codec("line", max_line=16),
    "lenprefix": get_codec("lenprefix"),
    "lenprefix-1": get_codec("lenprefix", header_bytes=1, max_frame=100),
    "lenprefix-2le": get_codec("lenprefix", header_bytes=2, byteorder="little"),
    "http": get_codec("http"),
    "resp": get_codec("resp"),
}
FRAMED_CODECS = {k: c for k, c in STREAM_CODECS.items() if c.framed}
DATAGRAM = get_codec("datagram")

#: Few examples, no deadline: the whole directory runs in seconds.
FAST = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: For finding minimal examples.
SHRINK = settings(max_examples=200, deadline=None, database=None)
#: For showing an example exists (no shrinking: it can be slow and is not the point).
#: Derandomized, and with room for rare shapes: what it draws can still change with the
#: modules a test process has imported, so a shape must be found well within the budget.
SEARCH = settings(
    # Rare shapes (an HTTP body in several chunks, with an extension and a trailer) take
    # hundreds of examples, and how many depends on what else the process imported:
    # Hypothesis mixes the constants of loaded modules into what it draws.
    max_examples=2000,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    derandomize=True,
)


def minimal(
    strategy: SearchStrategy[T],
    condition: Callable[[T], bool] = lambda _: True,
    *,
    derandomize: bool = True,
) -> T:
    """The example Hypothesis shrinks to among those meeting ``condition``.

    Derandomized by default: the search is the same every time (a fixed seed), so
    the result does not depend on where a random start happened to shrink to, and
    two strategies that make the same choices can be compared example for example.
    """
    return find(strategy, condition, settings=settings(SHRINK, derandomize=derandomize))


def simplest(strategy: SearchStrategy[T]) -> T:
    """The example Hypothesis tries first: every choice at its simplest.

    One example's work, where :func:`minimal` (``find``) shrinks for seconds. Shrinking
    ends here, or at something with even fewer choices (a shorter ``one_of`` branch).
    """
    found: list[T] = []

    @settings(max_examples=1, phases=[Phase.generate], database=None, deadline=None)
    @given(strategy)
    def first(example: T) -> None:
        found.append(example)

    first()
    return found[0]


def drawn(strategy: SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """Some example meeting ``condition`` (Hypothesis fails the test when none turns up)."""
    return find(strategy, condition, settings=SEARCH)


def shape(scenario: Scenario) -> list[tuple[str, int | None]]:
    """Each step as (op, conn); conn is None for steps without one (pause)."""
    return [(step.op, getattr(step, "conn", None)) for step in scenario.steps]


def step_of(scenario: Scenario, index: int, kind: type[T]) -> T:
    """Step ``index``, checked to be a ``kind``."""
    step: Step = scenario.steps[index]
    assert isinstance(step, kind), f"step {index} is {step!r}, not a {kind.__name__}"
    return step


def sends_on(scenario: Scenario, conn: int) -> list[Send]:
    """The Send steps of connection ``conn``."""
    return [s for s in scenario.steps if isinstance(s, Send) and s.conn == conn]


def round_trips(scenario: Scenario) -> bool:
    """Whether the scenario survives ``to_json`` / ``from_json`` unchanged."""
    return Scenario.from_json(scenario.to_json()) == scenario
