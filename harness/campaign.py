"""Campaigns: Hypothesis drives properties against one server and keeps what fails.

For each property, Hypothesis draws scenarios from the property's strategy;
the runner plays each one and the property judges the transcript; then a
fresh client probes the server (liveness), and a dead managed server is
restarted. A failure is shrunk by Hypothesis to a minimal scenario, replayed a
few more times to measure how reliably it reproduces, and written as a replay
file. A failure that never reproduces on replay is reported as flaky, not as a
bug: a false alarm is the worst thing a harness can produce.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis
from hypothesis import Verbosity, given, settings
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Flaky

from wirefault.addresses import Address
from wirefault.codecs.base import Codec
from wirefault.errors import FaultLayerUnavailable, TargetError, WirefaultError
from wirefault.fallback import DeletedAfterPlay, FaultLayerFallback
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.judging import Judgement, NoteBook, second_opinion
from wirefault.properties import Property, PropertyContext, Verdict, get_property, probe_scenario
from wirefault.replay import save_replay
from wirefault.results import CampaignResult, Failure, PropertyResult
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Scenario
from wirefault.strategies.profiles import PROFILES, register_profiles
from wirefault.target import CrashReport, ServerProcess
from wirefault.transcript import Transcript

__all__ = ["Campaign", "CampaignConfig", "CampaignResult", "Failure", "PropertyResult"]


@dataclass(frozen=True)
class CampaignConfig:
    """What to fuzz and how.

    Attributes:
        address: where the server listens (updated from ``server`` when one is managed).
        codec: the protocol's framing.
        properties: the properties to run, in order.
        profile: Hypothesis profile: ``ci``, ``dev`` or ``thorough``.
        max_examples: examples per property (None: the profile's).
        time_budget: seconds for the whole campaign; each property gets an equal share
            of what is left when its turn comes.
        seed: makes Hypothesis's choices reproducible.
        deadline: runner deadline (seconds without progress that count as a hang).
        out_dir: where replay files go.
        verify: extra replays of each shrunk failure (the agreement rate).
        shrink_budget: seconds Hypothesis may spend shrinking one failure; past it the
            smallest failing scenario found so far is kept.
        shrink_deadline: the runner's deadline while shrinking (default: a quarter of
            ``deadline``, at least 0.25 s). A shrink step that fails by a timeout costs
            a whole deadline; the shrunk failure is then verified with the full one, so
            a verdict that only a shorter deadline produces is never reported.
        label: distinguishes example-database entries of different servers.
        fallback: when the fault layer stops answering (Toxiproxy's API, even after a
            retry), go on with the embedded layer, saying so once; else stop (exit 2).
    """

    address: Address
    codec: Codec
    properties: tuple[Property, ...]
    profile: str = "ci"
    max_examples: int | None = None
    time_budget: float | None = None
    seed: int | None = None
    deadline: float = 1.0
    out_dir: Path = Path("wirefault-out")
    verify: int = 3
    shrink_budget: float = 30.0
    shrink_deadline: float | None = None
    label: str = ""
    greeting: bool = False
    probe: bytes | None = None
    start: str | None = None
    backend: str | None = None
    fallback: bool = False


class _Stop(BaseException):
    """Carries a setup error out through Hypothesis without being shrunk."""

    def __init__(self, error: WirefaultError) -> None:
        super().__init__(str(error))
        self.error = error


class _OutOfTime(BaseException):
    """Ends a property's run when the campaign's time budget is spent (no failure yet)."""


class _Failed(Exception):
    """Raised inside the Hypothesis test to mark a failing example."""


ProgressHook = Callable[[str, int, int], None]


class Campaign:
    """Runs a :class:`CampaignConfig` against a server.

    Args:
        config: what to run.
        server: the managed server process, restarted after a crash (None: external).
        fault_layer: the fault backend, for properties whose scenarios carry toxics.
        database: the Hypothesis example database (failures found once are tried first).
        progress: called after each example with (property, examples, failures so far).
    """

    def __init__(
        self,
        config: CampaignConfig,
        *,
        server: ServerProcess | None = None,
        fault_layer: FaultLayer | None = None,
        database: ExampleDatabase | None = None,
        progress: ProgressHook | None = None,
    ) -> None:
        register_profiles()
        self.config = config
        self.server = server
        self.fault_layer = fault_layer
        self.database = database
        self.progress = progress
        self.address = server.address if server is not None else config.address
        self._proxy: FaultProxy | None = None
        self._deadline = config.deadline
        self._until: float | None = None  # when the current property's budget share ends
        self._failures = 0
        self._started = 0.0
        self._fallback = FaultLayerFallback(allowed=config.fallback)

    # -- public --------------------------------------------------------------------------------

    def run(self) -> CampaignResult:
        """Run every property; returns their results (failures are results, not errors).

        Raises:
            WirefaultError: a setup problem (target unreachable, fault layer down).
        """
        self._started = time.monotonic()
        result = CampaignResult()
        budget = self.config.time_budget
        try:
            for index, prop in enumerate(self.config.properties):
                if budget is not None:
                    # Each property gets a fair share of what is left of the budget.
                    left = budget - (time.monotonic() - self._started)
                    share = left / (len(self.config.properties) - index)
                    self._until = time.monotonic() + max(share, 0.0)
                result.results.append(self.run_property(prop))
        finally:
            if self._proxy is not None:
                self._proxy.close()
                self._proxy = None
            self._fallback.close()
        result.elapsed = time.monotonic() - self._started
        return result

    def run_property(self, prop: Property) -> PropertyResult:
        """Run one property until its examples or the time budget run out."""
        if not prop.applies_to(self.config.codec):
            return PropertyResult(prop.name, "skipped", note="does not apply to this codec")
        began = time.monotonic()
        state = _State()
        test = self._hypothesis_test(prop, state)
        try:
            test()
        except _Stop as stop:
            raise stop.error from None
        except _Failed:
            pass
        except _OutOfTime:
            state.out_of_time = True
        except Flaky:
            state.flaky = True
        finally:
            self._deadline = self.config.deadline
        outcome = self._conclude(prop, state)
        outcome.elapsed = time.monotonic() - began
        if state.first_failure:
            outcome.examples_to_failure = state.examples_to_failure
            outcome.seconds_to_failure = state.first_failure - began
        return outcome

    def check_reachable(self) -> None:
        """Probe the target once before fuzzing.

        Raises:
            TargetError: the target refuses connections or does not answer the probe.
        """
        verdict = self._probe()
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
        """Play one scenario (through the fault proxy when it carries toxics).

        A fault layer that stops answering is no verdict: see :mod:`wirefault.fallback`.

        Raises:
            FaultLayerError: the fault layer failed, and may not be replaced.
        """
        try:
            return self._play(scenario)
        except FaultLayerUnavailable as lost:
            self.fault_layer = self._fallback.replace(self.fault_layer, self._proxy, lost)
            self._proxy = None
            return self._play(scenario)

    def _play(self, scenario: Scenario) -> Transcript:
        try:
            return self._runner(scenario).play(scenario)
        finally:
            if self._drops_proxy_after_play():
                # Toxiproxy 2.12 can panic (link.go AddToxic: index out of range) when
                # toxics change while an old connection's link is still being torn
                # down; a fresh proxy per scenario keeps links and toxics in step.
                self._drop_proxy()

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
        ended = time.monotonic()
        judgement = Judgement(
            prop.judge(scenario, transcript, self.config.codec), transcript, scenario
        )
        if not judgement.verdict.ok:
            crash = self.crash_after(ended)
            if crash is not None:
                message = f"{judgement.verdict.message}; {crash.message}"
                return Judgement(Verdict.failed(message, "crash"), transcript, scenario)
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

    # -- internals -----------------------------------------------------------------------------

    def _hypothesis_test(self, prop: Property, state: _State) -> Callable[[], None]:
        cfg = self.config
        ctx = PropertyContext(
            backend=self.fault_layer.backend if self.fault_layer else None,
            deadline=cfg.deadline,
            probe=cfg.probe,
        )
        parent = settings.get_profile(PROFILES.get(cfg.profile, cfg.profile))
        examples = cfg.max_examples if cfg.max_examples is not None else parent.max_examples

        @settings(
            parent,
            max_examples=examples,
            database=self.database,
            verbosity=Verbosity.quiet,
            print_blob=False,
            report_multiple_bugs=False,
        )
        @given(prop.scenarios(cfg.codec, ctx))
        def test(scenario: Scenario) -> None:
            if state.failure is None and self._out_of_time():
                raise _OutOfTime
            if state.failure is not None and self._shrink_budget_spent(state):
                if scenario != state.failure[0]:
                    # Shrink budget spent: every further candidate is rejected unplayed,
                    # so shrinking winds down at once and the best failure so far stands
                    # (and nothing that passes is saved to the example database).
                    hypothesis.reject()
                # The best failure again: Hypothesis reaches one scenario through many
                # choice sequences, and replays its final one. Each play could cost a
                # crash and a restart, and the verifying replays play it for real. (Before
                # the budget is spent it is played: a replay that passes tells Hypothesis
                # the failure is flaky, which ends the shrink of a timing-dependent one.)
                verdict = state.failure[2]
            else:
                verdict = self._example(prop, scenario, state)
            if not verdict.ok:
                raise _Failed(verdict.message)

        options = sorted(cfg.codec.options().items())
        key = f"wirefault:{prop.name}:{cfg.codec.name}:{options}:{cfg.label}"
        # Hypothesis keys its example database by the test's source; every property
        # shares this closure, so give each its own key through the attribute
        # Hypothesis reads for generated tests (else all would share one key).
        test._hypothesis_internal_database_key = key.encode()  # type: ignore[attr-defined]
        if cfg.seed is not None:
            test = hypothesis.seed(cfg.seed)(test)
        return test

    def _example(self, prop: Property, scenario: Scenario, state: _State) -> Verdict:
        """Play and judge one new example; a failure becomes the best failure so far.

        Once a failure is found, a candidate that fails another way (a close where the
        failure is a timeout) counts as passing: shrinking keeps the failure's kind.
        """
        try:
            judgement = self.judge(prop, scenario)
        except WirefaultError as exc:
            raise _Stop(exc) from None
        state.examples += 1
        if self.progress is not None:
            self.progress(prop.name, state.examples, self._failures)
        verdict = judgement.verdict
        state.notes.add(verdict.note)
        if verdict.ok:
            return verdict
        if state.failure is not None and verdict.kind != state.failure[2].kind:
            state.notes.other_kind(verdict)
            return Verdict.passed()
        state.failure = (scenario, judgement.transcript, verdict)
        state.blamed = judgement.scenario
        if not state.first_failure:
            state.first_failure = time.monotonic()
            state.examples_to_failure = state.examples
            self._deadline = self._shrink_deadline()
        return verdict

    def _shrink_budget_spent(self, state: _State) -> bool:
        return bool(state.first_failure) and (
            time.monotonic() - state.first_failure > self.config.shrink_budget
        )

    def _conclude(self, prop: Property, state: _State) -> PropertyResult:
        notes = state.notes.lines() + self._fallback.take_notice()
        if state.failure is None:
            note = "time budget spent: stopped early" if state.out_of_time else ""
            return PropertyResult(prop.name, "passed", state.examples, note=note, notes=notes)
        drawn, transcript, verdict = state.failure
        scenario = state.blamed or drawn
        reproduced = 0
        verified = False
        for _ in range(self.config.verify):
            again = self.judge(prop, scenario)
            if not again.verdict.ok and again.verdict.kind == verdict.kind:
                reproduced += 1
                if not verified:
                    # Shrinking ran with a shorter deadline: report what a replay at
                    # the full deadline saw, which is what the replay file promises.
                    verdict, transcript, verified = again.verdict, again.transcript, True
        agreement = (self.config.verify, reproduced)
        if self.config.verify and reproduced == 0:
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"flaky: a failure ({verdict.kind}: {verdict.message}) did not reproduce "
                f"in {self.config.verify} replays; not reported",
                notes=notes,
            )
        self._failures += 1
        crash = verdict.message if verdict.kind == "crash" else ""
        failure = Failure(
            prop.name, verdict.message, scenario, transcript, None, agreement, crash, verdict.kind
        )
        failure.replay = save_replay(
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
            kind=verdict.kind,
        )
        return PropertyResult(prop.name, "failed", state.examples, failure=failure, notes=notes)

    def _runner(self, scenario: Scenario) -> Runner:
        proxy = self._fault_proxy() if scenario.needs_fault_layer() else None
        if proxy is not None and self._drops_proxy_after_play():
            proxy = DeletedAfterPlay(proxy)
        options = RunnerOptions(deadline=self._deadline, greeting=self.config.greeting)
        return Runner(self.address, self.config.codec, options=options, proxy=proxy)

    def _drops_proxy_after_play(self) -> bool:
        return self.fault_layer is not None and self.fault_layer.backend == "toxiproxy"

    def _drop_proxy(self) -> None:
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None

    def _fault_proxy(self) -> FaultProxy:
        if self._proxy is None:
            if self.fault_layer is None:
                raise TargetError("internal: a scenario needs a fault layer but none is open")
            self._proxy = self.fault_layer.open_proxy(self.address)
        return self._proxy

    def _probe(self) -> Verdict:
        """The liveness property's verdict on one fresh probe."""
        probe = self.config.probe if self.config.probe is not None else self.config.codec.probe()
        scenario = probe_scenario(probe)
        return get_property("liveness").judge(scenario, self.play(scenario), self.config.codec)

    def _liveness(self) -> Verdict:
        verdict = self._probe()
        if verdict.ok:
            return verdict
        crash = self.server.poll_crash() if self.server else None
        if crash is not None:
            return Verdict.failed(f"crash: after this scenario the {crash.describe()}", "crash")
        return Verdict(False, f"after this scenario, {verdict.message}", verdict.kind)

    def _shrink_deadline(self) -> float:
        chosen = self.config.shrink_deadline
        if chosen is None:
            chosen = max(0.25, self.config.deadline / 4)
        return min(chosen, self.config.deadline)

    def _crash_after_failure(self, ended: float) -> CrashReport | None:
        """After a failing example that ended at ``ended``, whether the managed server died of it.

        A dying process may still hold its port for a moment; waiting for it here
        keeps the next example (a shrink candidate) from being blamed for this one.
        The wait is one deadline from the end of the example (the liveness probe's
        own time counts), ends the moment the process exits, and is skipped when the
        server has already exited or still answers a fresh client.
        """
        if self.server is None:
            return None
        crash = self.server.poll_crash()
        if crash is not None or self._liveness().ok:
            return crash
        return self.server.wait_crash(ended + self.config.deadline - time.monotonic())

    def _ensure_server(self) -> None:
        if self.server is None or self.server.alive():
            return
        old = self.address
        restarted = self.server.restart()
        if restarted.transport != "unix":  # a unix server keeps its loopback front
            self.address = restarted
        if self._proxy is not None and self.address != old:
            self._proxy.close()
            self._proxy = None

    def _out_of_time(self) -> bool:
        return self._until is not None and time.monotonic() > self._until


@dataclass
class _State:
    examples: int = 0
    # The drawn failing scenario (Hypothesis's), its transcript and verdict; and the
    # scenario the verdict is about (a confirmation may have replaced the drawn one).
    failure: tuple[Scenario, Transcript, Verdict] | None = None
    blamed: Scenario | None = None
    notes: NoteBook = field(default_factory=NoteBook)
    first_failure: float = 0.0
    examples_to_failure: int = 0
    flaky: bool = False
    out_of_time: bool = False
