"""Campaigns: Hypothesis drives properties against one server and keeps what fails.

Properties are played in rounds (:mod:`wirefault.schedule`): each round is one
Hypothesis run of a few examples of one property, and the rounds of all the
properties take turns, so every property is tried within the first seconds.
For each example the runner plays a scenario drawn from the property's
strategy and the property judges the transcript; then a fresh client probes
the server (liveness), and a dead managed server is restarted. A failure is
shrunk by Hypothesis to a minimal scenario (once every property has had its
first round: a failure found early does not keep the others waiting while it
is shrunk), replayed a few more times to measure how reliably it reproduces,
replayed against a freshly started server to count the plays a failure that
needs accumulated state (a leak) takes there, and written as a replay file;
the server is then restarted, so what comes next starts clean. A failure that
never reproduces on replay is reported as flaky, not as a bug: a false alarm
is the worst thing a harness can produce.

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

from hypothesis import Phase, settings
from hypothesis.database import ExampleDatabase, InMemoryExampleDatabase

from wirefault.addresses import Address
from wirefault.campaign_config import CampaignConfig, Progress, ProgressHook
from wirefault.cutoff import Cutoff, OutOfTime
from wirefault.database import GatedDatabase
from wirefault.errors import TargetError, WirefaultError
from wirefault.fallback import FaultLayerFallback
from wirefault.faults.base import FaultLayer
from wirefault.judging import Judgement, second_opinion
from wirefault.patience import judged_early
from wirefault.properties import Note, Property, PropertyContext, Verdict
from wirefault.property_state import PropertyState
from wirefault.results import (
    EXITFIRST,
    OUT_OF_TIME,
    CampaignResult,
    Failure,
    PropertyResult,
    RoundOutcome,
    property_result,
)
from wirefault.rounds import RoundFull, ShrinkOver, frozen_heap, run_round
from wirefault.rounds import SetupFailed as _Stop
from wirefault.scenario import Scenario, Send
from wirefault.schedule import MAX_ROUND, Round, Schedule, round_seed
from wirefault.stage import Stage
from wirefault.strategies.profiles import PROFILES, register_profiles
from wirefault.target import CrashReport, ServerProcess
from wirefault.transcript import Transcript
from wirefault.verification import Verifier

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

#: Bytes the scenarios of one round may send before the round ends early. Hypothesis
#: keeps every drawn value of a run until the run ends (for shrinking): a round of
#: large payloads is cut short by this rather than by its count of examples.
ROUND_BYTES = 16 << 20
#: Seconds of the time budget a failure must leave to have its shrinking wait for the
#: other properties' first rounds: with less, it is shrunk, verified and saved at once.
DEFER_LEFT = 30.0
#: Seconds a deferred failure that did not fail again when taken up may spend being
#: looked for again and shrunk (a failure that rests on timing shrinks by luck: it
#: could take the whole shrink budget, 30 s, and be found flaky all the same).
UNREPRODUCED_SHRINK_BUDGET = 5.0
#: While shrinking, after this many candidates in a row that did not fail, the failure
#: being shrunk is played once more: one that no longer fails rests on luck (timing),
#: and shrinking it further would be luck too.
RECHECK_AFTER = 20


class Campaign:
    """Runs a :class:`CampaignConfig` against a server.

    Args:
        config: what to run.
        server: the managed server process, restarted after a crash (None: external).
        fault_layer: the fault backend, for properties whose scenarios carry toxics.
        database: the Hypothesis example database (failures found once are tried first);
            without one, or with a seed, one in memory for this campaign alone.
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
        # Rounds hand failures on through the database (a deferred shrink replays the
        # failure from it). Without one, or with a seed (whose run must not depend on
        # what earlier runs saved), the campaign keeps its own in memory.
        if database is None or config.seed is not None:
            database = InMemoryExampleDatabase()
        self._gate = GatedDatabase(database)
        self._verifier = Verifier(config, self.stage, self.cutoff, self.judge_once)
        self._failures = 0
        self._examples = 0
        self._first_failure: float | None = None
        self._states: dict[str, PropertyState] = {}

    # -- public --------------------------------------------------------------------------------

    def run(self) -> CampaignResult:
        """Run every property, in interleaved rounds; returns their results.

        Failures are results, not errors; so is a run the time budget cuts short.

        Raises:
            WirefaultError: a setup problem (target unreachable, fault layer down).
            KeyboardInterrupt: a SIGINT or SIGTERM (noted by the cutoff) came.
        """
        with frozen_heap():
            return self._run_rounds(list(self.config.properties))

    def run_property(self, prop: Property) -> PropertyResult:
        """Run all the rounds of one property; returns its result."""
        (result,) = self._run_rounds([prop]).results
        return result

    def run_round(self, prop: Property, planned: Round, *, defer: bool = False) -> RoundOutcome:
        """Play one round of ``prop``; a failure it finds is shrunk, verified and saved.

        With ``defer``, a failure ends the round unshrunk (Hypothesis has saved it in
        the example database): :meth:`shrink_deferred` takes it up later.

        Raises:
            WirefaultError: a setup problem.
            KeyboardInterrupt: a SIGINT or SIGTERM came.
        """
        state = self._states.setdefault(prop.name, PropertyState())
        began, before = time.monotonic(), state.examples
        state.cut = False
        state.round_bytes = 0
        if state.result is not None:  # concluded already: nothing left to play
            return RoundOutcome(planned, 0, 0.0, exhausted=True, cut=False, result=None)
        state.defer = defer
        # Hypothesis starts the round with the property's opening scenario again, which is
        # not played again (see _play_example): one more example makes up for it.
        asked = planned.examples + (1 if state.opening is not None else 0)
        state.round_skipped = state.round_drawn = 0
        ending = self._hypothesis_run(prop, state, asked, planned.seed)
        played = state.examples - before
        seconds = time.monotonic() - began
        notes = (*state.notes.lines(), *state.fallback_notes)
        if state.failure is not None and defer:
            self._gate.unshrunk(self._database_key(prop))
            return RoundOutcome(planned, played, seconds, False, state.cut, None, notes, True)
        result = self._concluded(prop, state) if state.failure is not None else None
        if result is not None and result.failure is None and result.complete:
            # The verifying replays did not reproduce it (flaky, or unconfirmed without
            # the early judgement): not a failure, and no reason to stop looking.
            self._dismiss(prop, state)
            notes, result = (*notes, result.note), None  # for --workers' parent
        drawn = played + state.round_skipped
        exhausted = ending == "done" and state.failure is None and drawn < asked
        return RoundOutcome(
            planned, played, time.monotonic() - began, exhausted, state.cut, result, notes
        )

    def _dismiss(self, prop: Property, state: PropertyState) -> None:
        """Set aside a failure its verifying replays did not reproduce, and search on.

        Its note is kept for the property's result; the example database forgets it,
        so that the next round does not start by replaying it.
        """
        assert state.result is not None
        if state.dismissed is None:
            state.dismissed = state.result
        else:
            state.notes.add(Note("dismissed", state.result.note))
        key = self._database_key(prop)
        for value in list(self._gate.fetch(key)):
            self._gate.delete(key, value)
        state.forget_failure()

    def opening(self, name: str) -> Scenario | None:
        """Property ``name``'s first example, once it passed (see :meth:`run_round`)."""
        state = self._states.get(name)
        return state.opening if state is not None else None

    def learn_opening(self, name: str, scenario: Scenario) -> None:
        """Take ``scenario`` as property ``name``'s opening, played and passed elsewhere
        (by another worker of ``--workers``): this campaign's rounds do not play it."""
        state = self._states.setdefault(name, PropertyState())
        if state.opening is None:
            state.opening = scenario

    def shrink_deferred(self, prop: Property, examples: int) -> PropertyResult:
        """Shrink, verify and save the failure a deferred round of ``prop`` found.

        A Hypothesis run that replays the failure from the example database first
        and shrinks it. If it no longer fails (it rested on timing, or on state the
        server had built up back then, a leak), the run goes on drawing up to
        ``examples`` examples, as the property's rounds would have, and shrinks the
        first that fails the same way, within :data:`UNREPRODUCED_SHRINK_BUDGET`
        seconds rather than the whole shrink budget; failing that, the failure as
        found is verified and reported (or dismissed) as usual.

        Raises:
            KeyboardInterrupt: a SIGINT or SIGTERM came.
        """
        state = self._states[prop.name]
        state.defer = False
        state.taking_up, state.unreproduced = True, False
        state.shrink_began = time.monotonic()
        self.stage.deadline = self._shrink_deadline()
        self.stage.shrinking = True
        self._hypothesis_run(prop, state, examples, round_seed(self.config.seed, -1))
        return self._concluded(prop, state)

    def _hypothesis_run(
        self,
        prop: Property,
        state: PropertyState,
        examples: int,
        seed: int | None,
    ) -> str:
        """One Hypothesis run of ``prop``'s examples; how it ended (see :mod:`wirefault.rounds`)."""
        cfg = self.config
        ctx = PropertyContext(
            backend=self.fault_layer.backend if self.fault_layer else None,
            deadline=cfg.deadline,
            probe=cfg.probe,
            samples=cfg.samples,
        )
        key = self._database_key(prop)
        if state.scenarios is None or state.scenarios[0] != ctx:
            # Built once, not every round: a strategy built anew is validated anew, and
            # the parts Hypothesis caches (keyed by the new parts' identities) would fill
            # its strategy cache round after round.
            state.scenarios = (ctx, prop.scenarios(cfg.codec, ctx))
        try:
            ending = run_round(
                state.scenarios[1],
                lambda scenario: self._play_example(prop, scenario, state),
                profile=self._profile(),
                examples=examples,
                seed=seed,
                database=self._gate,
                key=key,
            )
        finally:
            self.stage.deadline = cfg.deadline
            self.stage.shrinking = False
        if self.cutoff.interrupted:
            raise KeyboardInterrupt  # Hypothesis may have taken the first one for a failure
        state.cut = state.cut or ending == "out of time"
        state.flaky = state.flaky or ending == "flaky"
        return ending

    def _database_key(self, prop: Property) -> bytes:
        """The example database key every round of ``prop`` shares."""
        cfg = self.config
        options = sorted(cfg.codec.options().items())
        return f"wirefault:{prop.name}:{cfg.codec.name}:{options}:{cfg.label}".encode()

    def _concluded(self, prop: Property, state: PropertyState) -> PropertyResult:
        """The property's result from its failure, verified and saved (:class:`Verifier`)."""
        result = state.result = self._verifier.conclude(prop, state)
        if result.failure is not None:
            self._failures += 1
        result.examples_to_failure = state.examples_to_failure
        result.seconds_to_failure = state.first_failure - self.cutoff.started
        return result

    def _profile(self) -> settings:
        return settings.get_profile(PROFILES.get(self.config.profile, self.config.profile))

    def _may_defer(self, plan: Schedule) -> bool:
        """Whether a failure found now may wait to be shrunk: other properties have not
        had a round yet, the time budget leaves room, and the example database can
        hand the failure back."""
        phases = self._profile().phases
        return (
            bool(plan.unstarted())
            and not self.config.exitfirst
            and self.cutoff.left() >= DEFER_LEFT
            and Phase.reuse in phases
            and Phase.shrink in phases
        )

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

    def play_waiting(self, scenario: Scenario) -> Transcript:
        """Play one scenario with every deadline waited out (no timeout judged early)."""
        settle, self.stage.settle = self.stage.settle, False
        try:
            return self.stage.play(scenario)
        finally:
            self.stage.settle = settle

    def play_hasty(self, scenario: Scenario) -> Transcript:
        """Play one scenario with silences certain even while the server is at work.

        Only for a play whose early timeout can keep a failure standing, never make
        one (a confirmation): a server still computing would otherwise be waited
        for up to the deadline, and a failure is reported only once a replay with
        every deadline waited out reproduces it.
        """
        hasty, self.stage.hasty = self.stage.hasty, True
        try:
            return self.stage.play(scenario)
        finally:
            self.stage.hasty = hasty

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
            # (Its baseline waits every deadline out: see wirefault.judging.)
            judgement = second_opinion(prop, judgement, self.config.codec, self)
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
        # Properties whose failure waits to be shrunk until every property has had a round.
        deferred: list[Property] = []
        try:
            while True:
                self.cutoff.check()
                if deferred and (not plan.unstarted() or self.cutoff.left() < DEFER_LEFT):
                    prop = deferred.pop(0)
                    began, before = time.monotonic(), self._states[prop.name].examples
                    # The examples its rounds would still have played (one round at most).
                    left = min(max(plan.total - plan.played(prop.name), 1), MAX_ROUND)
                    self.shrink_deferred(prop, left)  # (never with -x: that shrinks at once)
                    played = self._states[prop.name].examples - before
                    plan.spent(prop.name, time.monotonic() - began, played)
                    continue
                planned = plan.next_round(time.monotonic())
                if planned is None:
                    break
                prop = by_name[planned.property]
                outcome = self.run_round(prop, planned, defer=self._may_defer(plan))
                if outcome.deferred:
                    deferred.append(prop)
                failed = outcome.result is not None and outcome.result.failure is not None
                plan.finished(
                    planned,
                    examples=outcome.examples,
                    seconds=outcome.seconds,
                    failed=outcome.result is not None or outcome.deferred,
                    exhausted=outcome.exhausted,
                    cut=outcome.cut,
                )
                if failed and self.config.exitfirst:
                    stopped = EXITFIRST
                    break
        except OutOfTime:
            stopped = OUT_OF_TIME
            for prop in deferred:  # saved, and reported as found but not verified
                self._concluded(prop, self._states[prop.name])
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
            state = self._states.get(prop.name) or PropertyState()
            concluded = property_result(
                prop.name,
                played=plan.played(prop.name),
                seconds=plan.seconds(prop.name),
                complete=plan.complete(prop.name),
                concluded=state.result if state.result is not None else state.dismissed,
                stopped=stopped,
                notes=[
                    *state.notes.lines(),
                    *state.fallback_notes,
                    *(
                        [state.dismissed.note]
                        if state.result is not None and state.dismissed is not None
                        else []
                    ),
                ],
            )
            result.results.append(concluded)
        return result

    def examples_per_property(self) -> int:
        """Examples each property plays: ``max_examples``, or the profile's."""
        if self.config.max_examples is not None:
            return self.config.max_examples
        return int(self._profile().max_examples)

    def _play_example(self, prop: Property, scenario: Scenario, state: PropertyState) -> Verdict:
        """The body of a round's Hypothesis test: check the clock, play, judge, count.

        The property's first example, played and passed already, is not played again
        as a round's first (nor counted): each round is a Hypothesis run, and each
        starts with the simplest scenario; :meth:`run_round` asks for one more example
        to make up for it. Drawn again later in a round, it is played as any example
        is; and while a failure is shrunk it is played as any candidate (the server's
        state may have changed since).
        """
        self._checkpoint(prop, state)
        first, state.round_drawn = state.round_drawn == 0, state.round_drawn + 1
        if first and state.failure is None and not state.taking_up and scenario == state.opening:
            state.round_skipped = 1
            return Verdict.passed()
        began = time.monotonic()
        verdict = self._example(prop, scenario, state)
        if state.examples == 1 and verdict.ok:
            state.opening = scenario
        if not verdict.ok and not state.failure_cost:
            state.failure_cost = time.monotonic() - began
        state.round_bytes += _bytes_sent(scenario)
        return verdict

    def _checkpoint(self, prop: Property, state: PropertyState) -> None:
        """Before each example: stop for an interrupt, the time budget, or the end of shrinking."""
        if self.cutoff.interrupted:
            raise KeyboardInterrupt
        if state.failure is None:
            self.cutoff.check()
            if state.round_bytes >= ROUND_BYTES:
                raise RoundFull
        elif (
            state.defer
            or self._shrink_budget_spent(state)
            or self.cutoff.left() < self._reserve(state)
            or (state.since_failing >= RECHECK_AFTER and not self._still_fails(prop, state))
        ):
            # The best failure so far stands; no candidate is played past this point.
            raise ShrinkOver

    def _still_fails(self, prop: Property, state: PropertyState) -> bool:
        """Whether the failure being shrunk fails (the same way) when played once more.

        Asked after :data:`RECHECK_AFTER` candidates in a row did not fail: when the
        failure itself no longer does, the candidates that did failed by luck, and
        shrinking goes no further (the verifying replays then say how it reproduces).
        """
        assert state.failure is not None
        state.since_failing = 0
        try:
            verdict = self.judge(prop, state.failure[0]).verdict
        except WirefaultError as exc:
            raise _Stop(exc) from None
        if not verdict.ok and verdict.kind == state.failure[2].kind:
            return True
        state.notes.shrunk_by_luck(state.failure[2])
        return False

    def _reserve(self, state: PropertyState) -> float:
        """Seconds to keep, while shrinking, for the verifying replays and the fresh server."""
        per_play = max(state.failure_cost, 0.01) + self.stage.restart_seconds
        return (self.config.verify + 2) * per_play

    def _example(self, prop: Property, scenario: Scenario, state: PropertyState) -> Verdict:
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
        if state.taking_up:  # the deferred failure's replay: did it fail again?
            state.taking_up, state.unreproduced = False, verdict.ok
        if state.failure is not None:  # shrinking: how long since a candidate failed
            state.since_failing = state.since_failing + 1 if verdict.ok else 0
        if not verdict.ok:
            state.failure = (scenario, judgement.transcript, verdict)
            state.blamed = judgement.scenario
            if not state.first_failure:
                state.first_failure = state.shrink_began = time.monotonic()
                state.examples_to_failure = state.examples
                self.stage.deadline = self._shrink_deadline()
                self.stage.shrinking = True
        self._progressed(prop, state)
        return verdict

    def _progressed(self, prop: Property, state: PropertyState) -> None:
        self._examples += 1
        if state.first_failure and self._first_failure is None:
            self._first_failure = state.first_failure - self.cutoff.started
        if self.progress is not None:
            failing = state.failure is not None
            self.progress(
                Progress(prop.name, self._examples, self._failures, self._first_failure, failing)
            )

    def _shrink_budget_spent(self, state: PropertyState) -> bool:
        budget = self.config.shrink_budget
        if state.unreproduced:
            budget = min(budget, UNREPRODUCED_SHRINK_BUDGET)
        return bool(state.shrink_began) and time.monotonic() - state.shrink_began > budget

    # -- the stage, as judge_once and the verifier use it ---------------------------------------

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


def _bytes_sent(scenario: Scenario) -> int:
    return sum(
        len(chunk) for step in scenario.steps if isinstance(step, Send) for chunk in step.chunks
    )
