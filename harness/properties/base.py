"""The property contract: a scenario strategy plus a judge of transcripts.

A property is a generic oracle: it needs only a codec, never a spec of the
server. It says which scenarios exercise it (:meth:`Property.scenarios`, a
Hypothesis strategy) and whether a transcript of one of them shows a bug
(:meth:`Property.judge`, a pure function). Because the judge sees only the
transcript, replaying a saved scenario and judging again reproduces the verdict.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.properties.kinds import FAILURE_KINDS, FailureKind
from wirefault.properties.render import show
from wirefault.scenario import Scenario
from wirefault.transcript import ExpectResult, Transcript

__all__ = [
    "FAILURE_KINDS",
    "FailureKind",
    "Note",
    "Property",
    "PropertyContext",
    "Verdict",
    "alone",
    "answered",
    "outcome_group",
    "responses",
    "seconds",
    "unanswered",
]


@dataclass(frozen=True)
class Note:
    """Something learnt while judging that is not a failure, e.g. a limit larger than ours.

    Attributes:
        topic: what the note is about; a campaign keeps one note per topic and counts repeats.
        text: one or two sentences for the user.
    """

    topic: str
    text: str


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: ``ok``, or a message saying what was observed vs expected.

    Attributes:
        ok: no bug shown.
        message: what was observed and expected; never starts with the property's name
            (reports put the name in front).
        kind: how a failure shows itself (see :data:`FAILURE_KINDS`); ``""`` when ok.
        note: something worth telling the user even when ``ok`` (None: nothing).
    """

    ok: bool
    message: str = ""
    kind: str = ""
    note: Note | None = None

    @classmethod
    def passed(cls, note: Note | None = None) -> Verdict:
        """The verdict of a transcript that shows no bug (with what was learnt, if anything)."""
        return cls(True, note=note)

    @classmethod
    def failed(cls, message: str, kind: FailureKind = "other") -> Verdict:
        """The verdict of a transcript that shows a bug of ``kind``, described by ``message``."""
        return cls(False, message, kind)


@dataclass(frozen=True)
class PropertyContext:
    """What a property's scenarios may use.

    Attributes:
        backend: the fault backend in use (``embedded``/``toxiproxy``), or None for none.
        deadline: the runner's deadline in seconds (stalls are made longer than it).
        probe: the request that any healthy server answers (the codec's by default).
        samples: whole requests of the codec (``--requests``) that scenarios draw from
            as well as generated ones.
    """

    backend: str | None = None
    deadline: float = 1.0
    probe: bytes | None = None
    samples: tuple[bytes, ...] = ()


class Property(abc.ABC):
    """A generic oracle, registered by :attr:`name`."""

    #: The name used in every report, option and replay file.
    name: ClassVar[str]
    #: One line: what a pass means.
    summary: ClassVar[str]
    #: Codec transports it applies to.
    transports: ClassVar[frozenset[str]] = frozenset({"stream"})
    #: Only run when asked for by name (``--oracle echo``).
    opt_in: ClassVar[bool] = False
    #: Needs a codec that can tell where responses end.
    needs_framing: ClassVar[bool] = False

    def applies_to(self, codec: Codec) -> bool:
        """Whether this property can judge a server speaking ``codec``."""
        if codec.transport not in self.transports:
            return False
        return codec.framed or not self.needs_framing

    @abc.abstractmethod
    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        """The scenarios that exercise this property."""

    @abc.abstractmethod
    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        """Whether ``transcript`` (a play of ``scenario``) shows a bug."""

    def wants_full_wait(self, scenario: Scenario, transcript: Transcript) -> bool:
        """Whether a play with silences judged early must be played again waiting them out.

        A missing answer may be judged before the deadline (docs/PROPERTIES.md,
        "Timeouts judged early"); a failure that rests on one is confirmed anyway. A
        property for which such a silence can *hide* a failure (one that times the
        answers: a slow answer cut short looks fast) says so here, and the campaign
        plays the scenario again with every deadline waited out. Default: never.
        """
        return False

    def confirm(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """A second scenario to play before the failing ``verdict`` blames the server.

        Return one when the failure may be our scenario's doing rather than the
        server's: a server that says nothing after an unfinished frame may only be
        waiting for the rest. The campaign plays the returned scenario, judges it
        with :meth:`judge`, and that verdict replaces ``verdict`` (a failure is then
        reported with the returned scenario, which its replay file holds). A returned
        scenario must not ask for confirmation again: mark it (:meth:`Scenario.with_meta`).

        Default: None, the failure stands.
        """
        return None

    def baseline(
        self, scenario: Scenario, transcript: Transcript, verdict: Verdict, codec: Codec
    ) -> Scenario | None:
        """The request that went unanswered, alone: no fault, staller or reset around it.

        For a failure that blames a fault, a stall or a reset for a request left
        unanswered, return a scenario that plays that request alone on a fresh
        connection. If the server does not answer it there either, the request itself
        is the problem (a prefix of the server's real frame, say), and the campaign
        reports a note instead of this failure. Every Expect of the returned scenario
        must be answered for the failure to stand.

        Default: None (no baseline: the failure stands).
        """
        return None


def responses(codec: Codec, result: ExpectResult) -> list[bytes]:
    """The normalised responses of an Expect step, comparable across plays."""
    frames = [codec.normalise(f) for f in result.frames]
    if codec.framed:
        return frames
    return [codec.join(frames)] if frames else []


def outcome_group(result: ExpectResult) -> str:
    """Outcomes that are the same for comparison: a close is a close, EOF or RST."""
    return "closed" if result.outcome in ("eof", "rst") else result.outcome


def short(frames: Sequence[bytes], limit: int = 3) -> str:
    """Responses for messages: the first ``limit``, each shown by :func:`render.show`."""
    shown = ", ".join(show(f, limit=80) for f in frames[:limit])
    more = f", +{len(frames) - limit} more" if len(frames) > limit else ""
    return f"[{shown}{more}]"


def alone(scenario: Scenario, conn: int) -> Scenario:
    """Connection ``conn``'s steps only, without toxics: a baseline (:meth:`Property.baseline`)."""
    steps = tuple(s for s in scenario.steps if getattr(s, "conn", None) == conn)
    return Scenario(steps=steps, meta=(("baseline", f"c{conn}"),))


def answered(transcript: Transcript) -> bool:
    """Whether every Expect of ``transcript`` got what it waited for, with at least one frame."""
    return all(r.outcome == "ok" and r.frames for r in transcript.expects)


def seconds(value: float) -> str:
    """A duration for a message: ``0.5s`` from a tenth of a second up, ``25 ms`` below (a
    timeout judged early is short)."""
    return f"{value:.1f}s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def unanswered(result: ExpectResult | None, end: str) -> str:
    """How a request went unanswered, in words: ``got no answer within 1.0s``, ...

    Args:
        result: the Expect that waited for the answer (None: the connection never got there).
        end: the connection's end (:meth:`~wirefault.transcript.ConnRecord.ending`), used
            when there is no ``result``, and to tell a connect that timed out.
    """
    outcome = result.outcome if result is not None else end
    if end == "unaccepted" and outcome in ("timeout", "refused", "unaccepted"):
        return (
            "could not even connect: the connect timed out, as it does when the server "
            "is listening but accepts no one (its accept queue is full)"
        )
    if outcome == "timeout":
        took = f" within {seconds(result.elapsed)}" if result is not None else ""
        return f"got no answer{took}"
    return {
        "eof": "was closed by the server without an answer",
        "rst": "was reset by the server without an answer",
        "refused": "could not connect: connection refused",
        "garbage": "got bytes that are not a frame of the codec",
        "closed": "was closed by the server without an answer",
        "aborted": "was never answered",
    }.get(outcome, f"got no answer ({outcome})")
