"""The property contract: a scenario strategy plus a judge of transcripts.

A property is a generic oracle: it needs only a codec, never a spec of the
server. It says which scenarios exercise it (:meth:`Property.scenarios`, a
Hypothesis strategy) and whether a transcript of one of them shows a bug
(:meth:`Property.judge`, a pure function). Because the judge sees only the
transcript, replaying a saved scenario and judging again reproduces the verdict.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.scenario import Scenario
from wirefault.transcript import ExpectResult, Transcript

__all__ = ["Property", "PropertyContext", "Verdict", "outcome_group", "responses"]


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: ``ok``, or a message saying what was observed vs expected."""

    ok: bool
    message: str = ""

    @classmethod
    def passed(cls) -> Verdict:
        """The verdict of a transcript that shows no bug."""
        return cls(True)

    @classmethod
    def failed(cls, message: str) -> Verdict:
        """The verdict of a transcript that shows a bug, described by ``message``."""
        return cls(False, message)


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


def responses(codec: Codec, result: ExpectResult) -> list[bytes]:
    """The normalised responses of an Expect step, comparable across plays."""
    frames = [codec.normalise(f) for f in result.frames]
    if codec.framed:
        return frames
    return [codec.join(frames)] if frames else []


def outcome_group(result: ExpectResult) -> str:
    """Outcomes that are the same for comparison: a close is a close, EOF or RST."""
    return "closed" if result.outcome in ("eof", "rst") else result.outcome


def short(frames: list[bytes], limit: int = 3) -> str:
    """A short rendering of responses for messages."""
    shown = ", ".join(repr(f[:40]) + ("..." if len(f) > 40 else "") for f in frames[:limit])
    more = f", +{len(frames) - limit} more" if len(frames) > limit else ""
    return f"[{shown}{more}]"
