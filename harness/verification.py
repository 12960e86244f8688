"""A failure before it is reported: replayed, confirmed, measured from a fresh server, saved.

A false alarm is the worst thing a harness can produce, so a failure found
(and shrunk) by a campaign is replayed a few more times first: the agreement
rate. The first replay waits every deadline out, so a failure that rests on a
timeout judged early is reported only once a replay confirms it without; one
that no replay reproduces is reported as flaky, not as a bug. A failure that
holds is replayed against a freshly started server to count the plays a failure
that needs accumulated state (a leak) takes there, and written as a replay
file; the server is then restarted, so what comes next starts clean.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wirefault.campaign_config import CampaignConfig
from wirefault.cutoff import Cutoff, OutOfTime
from wirefault.properties import Property, Verdict
from wirefault.property_state import PropertyState
from wirefault.replay import FreshPlays, save_replay
from wirefault.results import Failure, PropertyResult
from wirefault.scenario import Scenario
from wirefault.stage import Stage
from wirefault.transcript import Transcript

__all__ = ["FRESH_PLAYS_LIMIT", "Verifier"]

#: Most plays against a freshly started server to reproduce a failure before saving it.
FRESH_PLAYS_LIMIT = 200


class Verifier:
    """Concludes a campaign's failures (see the module's docstring).

    Args:
        config: the campaign's configuration (verify count, budgets, replay fields).
        stage: the server, fault layer and runner settings the campaign plays on.
        cutoff: when the run must stop.
        judge_once: plays and judges one scenario as the campaign does.
    """

    def __init__(
        self,
        config: CampaignConfig,
        stage: Stage,
        cutoff: Cutoff,
        judge_once: Callable[[Property, Scenario], tuple[Verdict, Transcript]],
    ) -> None:
        self._config = config
        self._stage = stage
        self._cutoff = cutoff
        self._judge_once = judge_once

    def conclude(self, prop: Property, state: PropertyState) -> PropertyResult:
        """Verify ``state``'s failure and, if it holds, save it; the property's result.

        Replays it ``verify`` times (the first with every deadline waited out);
        one reproduced by none is flaky, one that only timeouts judged early
        made is unconfirmed (both reported as passes with a note). A failure
        that holds is measured against a fresh server and written as a replay
        file, and the server is restarted for what comes next.
        """
        assert state.failure is not None
        drawn, transcript, verdict = state.failure
        # A confirmation may have replaced the drawn scenario: the file holds what was judged.
        scenario = state.blamed or drawn
        kind = verdict.kind
        reproduced = attempted = 0
        verified = met_fresh = False
        try:
            for index in range(self._config.verify):
                self._cutoff.check()
                on_fresh = self._stage.meets_fresh_server()
                # The first replay waits the full deadline: a failure that rests on a
                # timeout judged early is reported only once a replay confirms it without.
                self._stage.settle, self._stage.judged_early = index > 0, False
                try:
                    again, again_transcript = self._judge_once(prop, scenario)
                finally:
                    self._stage.settle = True
                attempted += 1
                if not again.ok and again.kind == kind:  # only the same kind reproduces it
                    reproduced += 1
                    met_fresh = met_fresh or on_fresh
                    if not verified and not self._stage.judged_early:
                        # Shrinking ran with a shorter deadline: report what a replay at
                        # the full deadline saw, which is what the replay file promises.
                        verdict, transcript, verified = again, again_transcript, True
        except OutOfTime:
            state.cut = True
        agreement = (attempted, reproduced)
        if self._config.verify and attempted == 0:
            path = self._save(prop, scenario, transcript, verdict, agreement, None)
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"unverified: a failure ({verdict.message}) was found but the time budget "
                f"ran out before it could be replayed; it is saved in {path}",
                complete=False,
            )
        if self._config.verify and reproduced and not verified:
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"unconfirmed: a failure ({verdict.message}) rested on timeouts judged "
                "early, and a replay with the full deadline did not reproduce it; not reported",
            )
        if self._config.verify and reproduced == 0:
            return PropertyResult(
                prop.name,
                "passed",
                state.examples,
                note=f"flaky: a failure ({verdict.kind}: {verdict.message}) did not reproduce "
                f"in {attempted} replays; not reported",
            )
        # A verifying replay that met a restarted server and failed settles it at once.
        fresh = FreshPlays(1, True) if met_fresh else self._plays_from_fresh(prop, state)
        crash = verdict.message if verdict.kind == "crash" else ""
        failure = Failure(
            prop.name, verdict.message, scenario, transcript, None, agreement, crash, verdict.kind
        )
        failure.replay = self._save(prop, scenario, transcript, verdict, agreement, fresh)
        self._stage.refresh()  # a fresh server for what comes next
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
        layer = self._stage.fault_layer
        return save_replay(
            self._config.out_dir,
            prop=prop.name,
            message=verdict.message,
            codec=self._config.codec,
            address=self._stage.address,
            scenario=scenario,
            transcript=transcript,
            start=self._config.start,
            backend=layer.backend if layer else None,
            deadline=self._config.deadline,
            seed=self._config.seed,
            agreement=agreement,
            probe=self._config.probe,
            greeting=self._config.greeting,
            fresh=fresh,
            preamble=self._config.preamble,
            kind=verdict.kind,
        )

    def _plays_from_fresh(self, prop: Property, state: PropertyState) -> FreshPlays | None:
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
            again = self._judge_once(prop, scenario)[0]
            return not again.ok and again.kind == kind

        try:
            return self._stage.plays_until(
                fails, limit=FRESH_PLAYS_LIMIT, seconds=self._config.shrink_budget
            )
        except OutOfTime:
            state.cut = True
            return None
