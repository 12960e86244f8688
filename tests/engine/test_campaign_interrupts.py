"""A Ctrl-C at any moment of a campaign stops it within a second, even when Python loses it.

SIGINT is raised inside the campaign at chosen moments (a shrink step, Hypothesis's
final replay of the minimal example, a verifying replay, a server restart), with the
handlers `wirefault fuzz` installs; a second variant only notes the interrupt in the
cutoff without raising, as when Python loses the KeyboardInterrupt in a
garbage-collector callback. Either way KeyboardInterrupt must leave `run()` within
a second, never a result.
"""

from __future__ import annotations

import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import strategies as st
from hypothesis.control import current_build_context, currently_in_test_context
from hypothesis.strategies import SearchStrategy

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig
from wirefault.cli._interrupts import signals_noted
from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.cutoff import Cutoff
from wirefault.properties import Property, PropertyContext, Verdict
from wirefault.scenario import Expect, Scenario, Send
from wirefault.target import ServerProcess
from wirefault.transcript import Transcript

SCRIPT = Path(__file__).parent.parent / "harness" / "scripted_server.py"

Moment = Callable[["_Long"], bool]


class _Long(Property):
    """Lines longer than 10 bytes fail (or crash the server), so shrinking has steps to take.

    ``when(self)`` is asked at every judgement; the first time it says yes, the
    interrupt comes (``interrupt()``), and the time is noted.
    """

    name: ClassVar[str] = "long-lines"
    summary: ClassVar[str] = "test double"

    def __init__(self, when: Moment, interrupt: Callable[[], None], *, crash: bool) -> None:
        self.when = when
        self.interrupt = interrupt
        self.crash = crash
        self.failing = 0  # failing judgements so far
        self.interrupted_at: float | None = None

    def scenarios(self, codec: Codec, ctx: PropertyContext) -> SearchStrategy[Scenario]:
        text = st.integers(1, 200).map(lambda n: b"x" * n)
        if self.crash:  # the server exits when it reads the line: each replay restarts it
            text = text.map(lambda line: b"die 1 " + line)
        return text.map(
            lambda line: Scenario(steps=(Send(conn=0, chunks=(line + b"\n",)), Expect(conn=0)))
        )

    def judge(self, scenario: Scenario, transcript: Transcript, codec: Codec) -> Verdict:
        sent = scenario.steps[0]
        assert isinstance(sent, Send)
        failed = len(sent.data) > 11 + (6 if self.crash else 0)
        self.failing += failed
        if self.interrupted_at is None and self.when(self):
            self.interrupted_at = time.monotonic()
            self.interrupt()
        return Verdict.failed("a long line") if failed else Verdict.passed()


def _in_final_replay() -> bool:
    return currently_in_test_context() and current_build_context().is_final


MOMENTS: dict[str, Moment] = {
    # The fourth failing example: Hypothesis is shrinking.
    "shrinking": lambda p: p.failing == 4 and currently_in_test_context(),
    # Hypothesis replays the minimal example one last time, and catches what it raises.
    "final replay": lambda p: _in_final_replay(),
    # Outside Hypothesis, after a failure: the verifying replays.
    "verification": lambda p: p.failing > 0 and not currently_in_test_context(),
}


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} {{port}}"
    process = ServerProcess(command, Address("tcp", "127.0.0.1", 0))
    process.start()
    yield process
    process.close()


def run_until_interrupted(server: ServerProcess, tmp_path: Path, prop: _Long) -> float:
    """Run the campaign as `wirefault fuzz` does; seconds from the interrupt to its end."""
    cutoff = Cutoff()
    config = CampaignConfig(
        address=server.address,
        codec=get_codec("line"),
        properties=(prop,),
        deadline=0.5,
        out_dir=tmp_path,
        verify=3,
        shrink_budget=20.0,
        seed=3,
        max_examples=200,
        start=server.command,
    )
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with signals_noted(cutoff), pytest.raises(KeyboardInterrupt):
            Campaign(config, server=server, cutoff=cutoff).run()
        ended = time.monotonic()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert prop.interrupted_at is not None, "the moment never came"
    return ended - prop.interrupted_at


def raise_sigint() -> None:
    signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_sigint_stops_the_campaign_at_once(
    server: ServerProcess, tmp_path: Path, moment: str
) -> None:
    prop = _Long(MOMENTS[moment], raise_sigint, crash=False)
    assert run_until_interrupted(server, tmp_path, prop) < 1.0


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_an_interrupt_python_lost_still_stops_the_campaign_within_a_second(
    server: ServerProcess, tmp_path: Path, moment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler ran (the cutoff noted it) but its KeyboardInterrupt went nowhere.
    holder: list[Cutoff] = []
    real_noted = signals_noted

    def noting(cutoff: Cutoff):  # type: ignore[no-untyped-def]
        holder.append(cutoff)
        return real_noted(cutoff)

    monkeypatch.setattr(sys.modules[__name__], "signals_noted", noting)
    prop = _Long(MOMENTS[moment], lambda: holder[0].interrupt(), crash=False)
    assert run_until_interrupted(server, tmp_path, prop) < 1.0


def test_a_sigint_during_a_restart_stops_the_campaign_and_the_new_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Each failing line crashes the server: every verifying replay restarts it.
    prop = _Long(lambda p: False, raise_sigint, crash=True)
    real_start = server.start

    def start_interrupted() -> Address:
        # The fixture started the server: every start from here on is a restart after
        # a crash, i.e. after a failing example (found, shrunk or verified).
        if prop.interrupted_at is None:
            prop.interrupted_at = time.monotonic()
            raise_sigint()
        return real_start()

    server.start = start_interrupted  # type: ignore[method-assign]
    assert run_until_interrupted(server, tmp_path, prop) < 1.0
