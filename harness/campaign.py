"""Campaigns: Hypothesis drives properties against one server and keeps what fails.

Properties are played in rounds (:mod:`wirefault.schedule`): each round is one
Hypothesis run of a few examples of one property, and the rounds of all the
properties take turns, so every property is tried within the first seconds.
For each example the runner plays a scenario drawn from the property's strategy
and the property judges the transcript; then a fresh client probes the server
(liveness), and a dead managed server is restarted. A failure is shrunk by
Hypothesis to a minimal scenario, replayed a few more times to measure how
reliably it reproduces, replayed against a freshly started server to count the
plays a failure that needs accumulated state (a leak) takes there, and written
as a replay file; the server is then restarted, so what comes next starts
clean. A failure that never reproduces on replay is reported as flaky, not as
a bug: a false alarm is the worst thing a harness can produce.

Everything a campaign does is bounded by its :class:`~wirefault.cutoff.Cutoff`:
the time budget is the wall-clock ceiling of examples, shrinking, verifying
replays, restarts and liveness probes alike. Shrinking stops early enough to
leave time to verify; whatever the budget cuts short is reported as such
(:attr:`PropertyResult.complete`). A SIGINT or SIGTERM noted by the cutoff is
raised as KeyboardInterrupt at the next wait or example, even when Python lost
the first one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis.database import ExampleDatabase
from hypothesis.strategies import SearchStrategy

from wirefault.addresses import Address
from wirefault.campaign_config import CampaignConfig, Progress, ProgressHook
from wirefault.cutoff import Cutoff, OutOfTime
from wirefault.database import GatedDatabase
from wirefault.errors import TargetError, WirefaultError
from wirefault.fallback import FaultLayerFallback
from wirefault.faults.base import FaultLayer
from wirefault.judging import Judgement, NoteBook, second_opinion
from wirefault.patience import judged_early
from wirefault.properties import Property, PropertyContext, Verdict
from wirefault.replay import FreshPlays, save_replay
from wirefault.results import (
    EXITFIRST,
    OUT_OF_TIME,
    CampaignResult,
    Failure,
    PropertyResult,
    RoundOutcome,
    property_result,
)
from wirefault.rounds import RoundFull, ShrinkOver, run_round
from wirefault.rounds import SetupFailed as _Stop
from wirefault.scenario import Scenario, Send
from wirefault.schedule import Round, Schedule
from wirefault.stage import Stage
from wirefault.strategies.profiles import PROFILES, register_profiles
from wirefault.target import CrashReport, ServerProcess
from wirefault.transcript import Transcript

__all__ = [
    "Campaign",
    "CampaignConfig",
    "CampaignResult",
    "Failure",
    "Progress",
    "ProgressHook",
    "PropertyResult",
    "RoundOutcome",
]

#: Most plays against a freshly started server to reproduce a failure before saving it.
FRESH_PLAYS_LIMIT = 200
#: Bytes the scenarios of one round may send before the round ends early. Hypothesis
#: keeps every drawn value of a run until the run ends (for shrinking): a round of
#: large payloads is cut short by this rather than by its count of examples.
ROUND_BYTES = 16 << 20


class Campaign:
    """Runs a :class:`CampaignConfig` against a server.

    Args:
        config: what to run.
        server: the managed server process, restarted after a crash (None: external).
        fault_layer: the fault backend, for properties whose scenarios carry toxics.
        database: the Hypothesis example database (failures found once are tried first).
        progress: called after each example with a :class:`Progress`.
        cutoff: when to stop (default: ``config.time_budget`` from now; a command
            passes its own, started at its launch and told of interrupts).
    """

    def __init__(
        self,
        config: CampaignConfig,
        *,
        server: ServerProcess | None = None,
        fault_layer: FaultLayer | None = None,
        database: ExampleDatabase | None = None,
        progress: ProgressHook | None = None,
        cutoff: Cutoff | None = None,
    ) -> None:
        register_profiles()
        self.config = config
        self.server = server
        self.database = database
        self.progress = progress
        self.cutoff = cutoff or Cutoff.after(config.time_budget)
        self.stage = Stage(
            config.address,
            config.codec,
            server=server,
            fault_layer=fault_layer,
            deadline=config.deadline,
            greeting=config.greeting,
            probe=config.probe,
            cutoff=self.cutoff,
            preamble=config.preamble,
            # Without verifying replays nothing would confirm an early judgement.
            early_timeouts=config.early_timeouts and config.verify > 0,
            fallback=FaultLayerFallback(allowed=config.fallback),
        )
        self._gate = GatedDatabase(database) if database is not None else None
        self._failures = 0
        self._examples = 0
        self._first_failure: float | None = None
        self._states: dict[str, _State] = {}

    # -- public --------------------------------------------------------------------------------

    def run(self) -> CampaignResult:
        """Run every property, in interleaved rounds; returns their results.

        Failures are results, not errors; so is a run the time budget cuts short.

        Raises:
            WirefaultError: a setup problem (target unreachable, fault layer down).
            KeyboardInterrupt: a SIGINT or SIGTERM (noted by the cutoff) came.
        """
        return self._run_rounds(list(self.config.properties))

    def run_property(self, prop: Property) -> PropertyResult:
        """Run all the rounds of one property; returns its result."""
        (result,) = self._run_rounds([prop]).results
        return result

    def run_round(self, prop: Property, planned: Round) -> RoundOutcome:
        """Play one round of ``prop``; a failure it finds is shrunk, verified and saved.

        Raises:
            WirefaultError: a setup problem.
            KeyboardInterrupt: a SIGINT or SIGTERM came.
        """
        state = self._states.setdefault(prop.name, _State())
        began, before = time.monotonic(), state.examples
        state.cut = False
        state.round_bytes = 0
        if state.result is not None:  # concluded already: nothing left to play
            return RoundOutcome(planned, 0, 0.0, exhausted=True, cut=False, result=None)
        cfg = self.config
        ctx = PropertyContext(
            backend=self.fault_layer.backend if self.fault_layer else None,
            deadline=cfg.deadline,
            probe=cfg.probe,
            samples=cfg.samples,
        )
        options = sorted(cfg.codec.options().items())
        key = f"wirefault:{prop.name}:{cfg.codec.name}:{options}:{cfg.label}"
        if state.scenarios is None or state.scenarios[0] != ctx:
            # Built once, not every round: a strategy built anew is validated anew, and
            # the parts Hypothesis caches (keyed by the new parts' identities) would fill
            # its strategy cache round after round.
            state.scenarios = (ctx, prop.scenarios(cfg.codec, ctx))
        try:
            ending = run_round(
                state.scenarios[1],
                lambda scenario: self._play_example(prop, scenario, state),
                profile=settings.get_profile(PROFILES.get(cfg.profile, cfg.profile)),
                examples=planned.examples,
                seed=planned.seed,
                database=self._gate,
                key=key.encode(),
            )
        finally:
            self.stage.deadline = cfg.deadline
            self.stage.shrinking = False
        if self.cutoff.interrupted:
            raise KeyboardInterrupt  # Hypothesis may have taken the first one for a failure
        state.cut = state.cut or ending == "out of time"
        state.flaky = state.flaky or ending == "flaky"
        result = None
        if state.failure is not None:
            result = state.result = self._conclude(prop, state)
            result.examples_to_failure = state.examples_to_failure
            result.seconds_to_failure = state.first_failure - self.cutoff.started
        played = state.examples - before
        exhausted = ending == "done" and state.failure is None and played < planned.examples
        seconds = time.monotonic() - began
        notes = (*state.notes.lines(), *state.fallback_notes)
        return RoundOutcome(planned, played, seconds, exhausted, state.cut, result, notes)

    def check_reachable(self) -> None:
        """Probe the target once before fuzzing.

        Raises:
            TargetError: the target refuses connections or does not answer the probe.
        """
        verdict = self.stage.probe()
        if verdict.ok:
            return
        if verdict.kind == "refused":
            raise TargetError(
                f"cannot reach {self.address}: connection refused; is the server running? "
                "(or let wirefault start it with --start CMD)"
            )
        raise TargetError(
            f"{self.address} does not answer the {self.config.codec.name} probe "
            f"{self.config.probe or self.config.codec.probe()!r} ({verdict.message}); "
            "check --codec, or give --probe / --greeting"
        )

    def play(self, scenario: Scenario) -> Transcript:
        """Play one scenario (through the fault proxy when it carries toxics)."""
        return self.stage.play(scenario)

    def judge_once(self, prop: Property, scenario: Scenario) -> tuple[Verdict, Transcript]:
        """Play ``scenario``, judge it, and probe liveness afterwards (see :meth:`judge`)."""
        judgement = self.judge(prop, scenario)
        return judgement.verdict, judgement.transcript

    def judge(self, prop: Property, scenario: Scenario) -> Judgement:
        """Play ``scenario`` and judge it; before a failure blames the server, get a second opinion.

        A failure is first checked for a crash of the managed server, then confirmed
        and baselined by the property (:func:`~wirefault.judging.second_opinion`). A
        pass is followed by a liveness probe.
        """
        self._ensure_server()
        transcript = self.play(scenario)
        if (
            self.stage.settle
            and judged_early(transcript)
            and prop.wants_full_wait(scenario, transcript)
        ):
            self.stage.settle = False
            try:
                # First the server finishes (or drops) what the first play left it
                # working on, which would slow this play: its CPU goes quiet, and a
                # fresh client is answered.
                self.stage.wait_idle()
                self.stage.probe()
                transcript = self.play(scenario)
            finally:
                self.stage.settle = True
        ended = time.monotonic()
        judgement = Judgement(
            prop.judge(scenario, transcript, self.config.codec), transcript, scenario
        )
        if not judgement.verdict.ok:
            crash = self.crash_after(ended)
            if crash is not None:
                message = f"{judgement.verdict.message}; {crash.message}"
                return Judgement(Verdict.failed(message, "crash"), transcript, scenario)
            # Second-opinion plays wait every deadline out: a timeout judged early there
            # could turn a real failure into a note.
            settle, self.stage.settle = self.stage.settle, False
            try:
                judgement = second_opinion(prop, judgement, self.config.codec, self)
            finally:
                self.stage.settle = settle
            if not judgement.verdict.ok:
                return judgement
        live = self._liveness()
        return judgement if live.ok else Judgement(live, judgement.transcript, judgement.scenario)

    def crash_after(self, ended: float) -> Verdict | None:
        """A crash verdict if the managed server died of the play that ended at ``ended``."""
        crash = self._crash_after_failure(ended)
        return None if crash is None else Verdict.failed(f"crash: the {crash.describe()}", "crash")

    def alive(self) -> bool:
        """Whether a fresh client's probe is answered now."""
        return self._liveness().ok

    # -- rounds --------------------------------------------------------------------------------

    def _run_rounds(self, props: list[Property]) -> CampaignResult:
        applicable = [p for p in props if p.applies_to(self.config.codec)]
        by_name = {p.name: p for p in applicable}
        plan = Schedule(list(by_name), total=self.examples_per_property(), seed=self.config.seed)
        stopped = ""
        try:
            while True:
                self.cutoff.check()
                planned = plan.next_round(time.monotonic())
                if planned is None:
                    break
                outcome = self.run_round(by_name[planned.property], planned)
                failed = outcome.result is not None and outcome.result.failure is not None
                plan.finished(
                    planned,
                    examples=outcome.examples,
                    seconds=outcome.seconds,
                    failed=outcome.result is not None,
                    exhausted=outcome.exhausted,
                    cut=outcome.cut,
                )
                if failed and self.config.exitfirst:
                    stopped = EXITFIRST
                    break
        except OutOfTime:
            stopped = OUT_OF_TIME
        finally:
            self.stage.drop_proxy()
            self.stage.close_fallback()
        result = CampaignResult(elapsed=self.cutoff.elapsed())
        for prop in props:
            if prop.name not in by_name:
                result.results.append(
                    PropertyResult(prop.name, "skipped", note="does not apply to this codec")
                )
                continue
            state = self._states.get(prop.name) or _State()
            concluded = property_result(
                prop.name,
                played=plan.played(prop.name),
                seconds=plan.seconds(prop.name),
                complete=plan.complete(prop.name),
                concluded=state.result,
                stopped=stopped,
                notes=state.notes.lines() + state.fallback_notes,
            )
            result.results.append(concluded)
        return result

    def examples_per_property(self) -> int:
        """Examples each property plays: ``max_examples``, or the profile's."""
        if self.config.max_examples is not None:
            return self.config.max_examples
        profile = PROFILES.get(self.config.profile, self.config.profile)
        return int(settings.get_profile(profile).max_examples)

    def _play_example(self, prop: Property, scenario: Scenario, state: _State) -> Verdict:
        """The body of a round's Hypothesis test: check the clock, play, judge, count."""
        self._checkpoint(state)
        began = time.monotonic()
        verdict = self._example(prop, scenario, state)
        if not verdict.ok and not state.failure_cost:
            state.failure_cost = time.monotonic() - began
        state.round_bytes += _bytes_sent(scenario)
        return verdict

    def _checkpoint(self, state: _State) -> None:
        """Before each example: stop for an interrupt, the time budget, or the end of shrinking."""
        if self.cutoff.interrupted:
            raise KeyboardInterrupt
        if state.failure is None:
            self.cutoff.check()
            if state.round_bytes >= ROUND_BYTES:
                raise RoundFull
        elif self._shrink_budget_spent(state) or self.cutoff.left() < self._reserve(state):
            # The best failure so far stands; no candidate is played past this point.
            raise ShrinkOver

    def _reserve(self, state: _State) -> float:
        """Seconds to keep, while shrinking, for the verifying replays and the fresh server."""
        per_play = max(state.failure_cost, 0.01) + self.stage.restart_seconds
        return (self.config.verify + 2) * per_play

    def _example(self, prop: Property, scenario: Scenario, state: _State) -> Verdict:
        """Play and judge one new example; a failure becomes the best failure so far."""
        try:
            judgement = self.judge(prop, scenario)
        except WirefaultError as exc:
            raise _Stop(exc) from None
        state.examples += 1
        verdict = judgement.verdict
        state.notes.add(verdict.note)
        state.fallback_notes += self.stage.take_fallback_notice()
        if not verdict.ok and state.failure is not None and verdict.kind != state.failure[2].kind:
            # Shrinking keeps the failure's kind: a candidate that fails another way (a
            # close where the failure is a timeout) counts as passing.
            state.notes.other_kind(verdict)
            verdict = Verdict.passed()
        if not verdict.ok:
            state.failure = (scenario, judgement.transcript, verdict)
            state.blamed = judgement.scenario
            if not state.first_failure:
                state.first_failure = time.monotonic()
                state.examples_to_failure = state.examples
                self.stage.deadline = self._shrink_deadline()
                self.stage.shrinking = True
        self._progressed(prop, state)
        return verdict

    def _progressed(self, prop: Property, state: _State) -> None:
        self._examples += 1
        if state.first_failure and self._first_failure is None:
            self._first_failure = state.first_failure - self.cutoff.started
        if self.progress is not None:
            failing = state.failure is not None
            self.progress(
                Progress(prop.name, self._examples, self._failures, self._first_failure, failing)
            )

    def _shrink_budget_spent(self, state: _State) -> bool:
        return bool(state.first_failure) and (
            time.monotonic() - state.first_failure > self.config.shrink_budget
        )

    # -- a failure: verify, measure from a fresh server, save ----------------------------------

    def _conclude(self, prop: Property, state: _State) -> PropertyResult:
        assert state.failure is not None
        drawn, transcript, verdict = state.failure
        # A confirmation may have replaced the drawn scenario: the file holds what was judged.
        scenario = state.blamed or drawn
        kind = verdict.kind
        reproduced = attempted = 0
        verified = met_fresh = False
        try:
            for index in range(self.config.verify):
                self.cutoff.check()
                on_fresh = self.stage.meets_fresh_server()
                # The first replay waits the full deadline: a failure that rests on a
                # timeout judged early is reported only once a replay confirms it without.
                self.stage.settle, self.stage.judged_early = index > 0, False
                try:
                    again, again_transcript = self.judge_once(prop, scenario)
                finally:
                    self.stage.settle = True
                attempted += 1
                if not again.ok and again.kind == kind:  # only the same kind reproduces it
                    reproduced += 1
                    met_fresh = met_fresh or on_fresh
                    if not verified and not self.stage.judged_early:
                        # Shrinking ran with a shorter deadline: report what a replay at
                        # the full deadline saw, which is what the replay file promises.
                        verdict, transcript, verified = again, again_transcript, True
        except OutOfTime:
            state.cut = True
        agreement = (attempted, reproduced)
        if self.config.verify and attempted == 0:
            path = self._save(prop, scenario, transcript, verdict, agreement, None)
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"unverified: a failure ({verdict.message}) was found but the time budget "
                f"ran out before it could be replayed; it is saved in {path}",
                complete=False,
            )
        if self.config.verify and reproduced and not verified:
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"unconfirmed: a failure ({verdict.message}) rested on timeouts judged "
                "early, and a replay with the full deadline did not reproduce it; not reported",
            )
        if self.config.verify and reproduced == 0:
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"flaky: a failure ({verdict.kind}: {verdict.message}) did not reproduce "
                f"in {attempted} replays; not reported",
            )
        self._failures += 1
        # A verifying replay that met a restarted server and failed settles it at once.
        fresh = FreshPlays(1, True) if met_fresh else self._plays_from_fresh(prop, state)
        crash = verdict.message if verdict.kind == "crash" else ""
        failure = Failure(
            prop.name, verdict.message, scenario, transcript, None, agreement, crash, verdict.kind
        )
        failure.replay = self._save(prop, scenario, transcript, verdict, agreement, fresh)
        self.stage.refresh()  # a fresh server for what comes next
        return PropertyResult(prop.name, "failed", state.examples, failure=failure)

    def _save(
        self,
        prop: Property,
        scenario: Scenario,
        transcript: Transcript,
        verdict: Verdict,
        agreement: tuple[int, int],
        fresh: FreshPlays | None,
    ) -> Path:
        return save_replay(
            self.config.out_dir,
            prop=prop.name,
            message=verdict.message,
            codec=self.config.codec,
            address=self.address,
            scenario=scenario,
            transcript=transcript,
            start=self.config.start,
            backend=self.fault_layer.backend if self.fault_layer else None,
            deadline=self.config.deadline,
            seed=self.config.seed,
            agreement=agreement,
            probe=self.config.probe,
            greeting=self.config.greeting,
            fresh=fresh,
            preamble=self.config.preamble,
            kind=verdict.kind,
        )

    def _plays_from_fresh(self, prop: Property, state: _State) -> FreshPlays | None:
        """How many plays from a fresh server the failure takes (None: not measured).

        A failure found against a server that had served hundreds of examples may
        need what they left behind (a leaked descriptor, a slot never freed): a
        replay from a fresh server then needs as many plays before it fails.
        """
        if state.failure is None:
            return None
        scenario = state.blamed or state.failure[0]
        kind = state.failure[2].kind

        def fails() -> bool:
            again = self.judge_once(prop, scenario)[0]
            return not again.ok and again.kind == kind

        try:
            return self.stage.plays_until(
                fails, limit=FRESH_PLAYS_LIMIT, seconds=self.config.shrink_budget
            )
        except OutOfTime:
            state.cut = True
            return None

    # -- the stage, as judge_once and _conclude use it ----------------------------------------

    @property
    def fault_layer(self) -> FaultLayer | None:
        """The fault layer in use (the embedded one, after a fall-back)."""
        return self.stage.fault_layer

    @property
    def address(self) -> Address:
        """Where the server listens now (a restart may move it)."""
        return self.stage.address

    def _liveness(self) -> Verdict:
        return self.stage.liveness()

    def _crash_after_failure(self, ended: float) -> CrashReport | None:
        return self.stage.crash_after_failure(ended, self.config.deadline)

    def _ensure_server(self) -> None:
        self.stage.ensure_server()

    def _shrink_deadline(self) -> float:
        chosen = self.config.shrink_deadline
        if chosen is None:
            chosen = max(0.25, self.config.deadline / 4)
        return min(chosen, self.config.deadline)


@dataclass
class _State:
    """One property's progress over its rounds."""

    examples: int = 0
    failure: tuple[Scenario, Transcript, Verdict] | None = None
    first_failure: float = 0.0
    examples_to_failure: int = 0
    flaky: bool = False
    #: Seconds the first failing example took to play and judge (sizes the reserve).
    failure_cost: float = 0.0
    #: The time budget cut the current round short.
    cut: bool = False
    #: Bytes the current round's scenarios sent.
    round_bytes: int = 0
    #: The property's result once a failure has been concluded.
    result: PropertyResult | None = None
    #: The scenario the failure's verdict is about (a confirmation may replace the drawn one).
    blamed: Scenario | None = None
    #: What was learnt that is not a failure, and failures of another kind seen shrinking.
    notes: NoteBook = field(default_factory=NoteBook)
    #: The fault layer's fall-back notice, if it happened during this property.
    fallback_notes: list[str] = field(default_factory=list)
    #: The property's scenario strategy, and the context it was built for.
    scenarios: tuple[PropertyContext, SearchStrategy[Scenario]] | None = None


def _bytes_sent(scenario: Scenario) -> int:
    return sum(
        len(chunk) for step in scenario.steps if isinstance(step, Send) for chunk in step.chunks
    )
