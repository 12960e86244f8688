"""Shrinking keeps the failure's kind, and the JSON says which kind each failure is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from verdicts_support import campaign

from wirefault.codecs.base import Codec
from wirefault.properties import Property, PropertyContext, Verdict
from wirefault.properties.kinds import FAILURE_KINDS
from wirefault.replay import load_replay
from wirefault.report.summary import summary_json
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.target import ServerProcess
from wirefault.transcript import Transcript


class _TwoBugs(Property):
    """A server with two bugs, by request size: big ones hang, and then small ones get closed.

    Like a server whose hang leaves it damaged: only after a hang do small requests
    fail, and fail another way. Shrinking the hang toward small requests would trade
    it for the other bug.
    """

    name: ClassVar[str] = "two-bugs"
    summary: ClassVar[str] = "test double"

    def __init__(self) -> None:
        self.hung = False

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        return st.integers(0, 200).map(
            lambda n: Scenario(
                steps=(Send(conn=0, chunks=(b"x" * n + b"\n",)), Expect(conn=0), Close(conn=0))
            )
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        size = len(transcript.conn(0).sent) - 1
        if size >= 100:
            self.hung = True
            return Verdict.failed(f"a {size}-byte request hung", "timeout")
        if self.hung and size > 0:
            return Verdict.failed(f"a {size}-byte request was closed", "closed")
        return Verdict.passed()


@pytest.fixture
def server(serve: Callable[..., ServerProcess]) -> ServerProcess:
    return serve("line-uncapped")


def test_a_timeout_does_not_shrink_into_a_close(server: ServerProcess, tmp_path: Path) -> None:
    run = campaign(server, "line", tmp_path, max_examples=60, verify=2)
    result = run.run_property(_TwoBugs())
    assert result.status == "failed"
    failure = result.failure
    assert failure is not None and failure.kind == "timeout"
    # The smallest request that still hangs, not a 1-byte one that gets closed.
    assert failure.message == "a 100-byte request hung"
    assert any("failed another way (closed)" in n for n in result.notes)
    assert failure.replay is not None
    stored = json.loads(failure.replay.read_text())
    assert stored["kind"] == "timeout"
    assert load_replay(failure.replay).kind == "timeout"
    summary = summary_json(
        _Result(result), target="t", transport="tcp", codec="line", backend="none", seed=1
    )
    (entry,) = summary["failures"]
    assert entry["kind"] == "timeout"
    assert entry["examples_to_failure"] == result.examples_to_failure >= 1
    assert entry["seconds_to_failure"] == round(result.seconds_to_failure, 3) > 0


def test_every_kind_is_explained() -> None:
    assert set(FAILURE_KINDS) == {
        "timeout",
        "closed",
        "reset",
        "refused",
        "mismatch",
        "garbage",
        "crash",
        "short-write",
        "lenient",
        "slow",
        "leak",
        "other",
    }
    assert all(FAILURE_KINDS.values())


def _Result(outcome):  # type: ignore[no-untyped-def]
    from wirefault.results import CampaignResult

    return CampaignResult(results=[outcome], elapsed=1.0)
