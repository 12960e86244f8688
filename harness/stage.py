"""Where a campaign plays: the server under test, the fault proxy in front of it, the runner.

A :class:`Stage` plays scenarios (through the fault proxy when they carry
toxics), probes liveness with a fresh client, tells whether a managed server
died of an example, and restarts it. Every wait is bounded by the run's
:class:`~wirefault.cutoff.Cutoff`. The campaign decides what to play and how to
judge it; the stage owns the sockets and processes that playing takes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from wirefault.addresses import Address
from wirefault.codecs.base import Codec
from wirefault.cpu import wait_idle
from wirefault.cutoff import Cutoff, OutOfTime
from wirefault.errors import FaultLayerUnavailable, TargetError
from wirefault.fallback import DeletedAfterPlay, FaultLayerFallback
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.patience import ReplyTimes, judged_early
from wirefault.properties import Verdict, get_property, probe_scenario
from wirefault.release import full_grace
from wirefault.replay import FreshPlays
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Scenario
from wirefault.target import CrashReport, ServerProcess
from wirefault.transcript import Transcript

__all__ = ["CRASH_IDLE", "Stage"]

#: Seconds a managed server that did not answer its probe after a failure must look idle
#: (alive, no CPU, every thread asleep on no timer) before it is taken not to be dying.
CRASH_IDLE = 0.05


class Stage:
    """The server under test as a campaign plays against it.

    Args:
        address: where the server listens (a managed server's own address wins).
        codec: the protocol's framing.
        server: the managed server process, restarted after a crash (None: external).
        fault_layer: the fault backend, for scenarios with toxics.
        deadline: the runner's deadline (the campaign shortens it while shrinking).
        greeting: the server speaks first.
        probe: the liveness probe request (None: the codec's).
        cutoff: when the run must stop.
        preamble: the handshake every connection sends first (``--preamble``).
        fallback: what to do when the fault layer stops answering (see
            :mod:`wirefault.fallback`; default: stop with an error).
        early_timeouts: whether a read may end as a timeout before the deadline once
            the server's silence is certain (see :mod:`wirefault.patience`).
    """

    def __init__(
        self,
        address: Address,
        codec: Codec,
        *,
        server: ServerProcess | None,
        fault_layer: FaultLayer | None,
        deadline: float,
        greeting: bool,
        probe: bytes | None,
        cutoff: Cutoff,
        preamble: tuple[bytes, ...] = (),
        early_timeouts: bool = False,
        fallback: FaultLayerFallback | None = None,
    ) -> None:
        self.server = server
        self.fault_layer = fault_layer
        self.codec = codec
        self.address = server.address if server is not None else address
        self.deadline = deadline
        self.greeting = greeting
        self.probe_request = probe
        self.cutoff = cutoff
        self.preamble = preamble
        #: Seconds the last restart took (0 before any).
        self.restart_seconds = 0.0
        #: While shrinking, silence is judged sooner (see :mod:`wirefault.patience`).
        self.shrinking = False
        #: Cleared by the campaign; set when a play since then ended a read early.
        self.judged_early = False
        #: False for a play that must wait every deadline out (a confirming replay).
        self.settle = True
        #: True for a play whose early timeout can only keep a failure standing (a
        #: confirmation): its silences may be certain while the server is at work.
        self.hasty = False
        self._early_timeouts = early_timeouts
        # How fast the server answers: a timeout may be judged early (see patience.py).
        self._replies = ReplyTimes(deadline)
        self._proxy: FaultProxy | None = None
        self._fallback = fallback or FaultLayerFallback(allowed=False)
        # The last play had a connect time out: the next checks the accept queue first.
        self._unaccepting = False

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

    def take_fallback_notice(self) -> list[str]:
        """The notice of a fall-back to the embedded layer, once (empty: none happened)."""
        return self._fallback.take_notice()

    def close_fallback(self) -> None:
        """Close the embedded layer fallen back to, if any."""
        self._fallback.close()

    def _play(self, scenario: Scenario) -> Transcript:
        try:
            transcript = self._runner(scenario).play(scenario)
            self._unaccepting = any(c.unaccepted for c in transcript.conns.values())
            self._replies.observe(scenario, transcript)
            self.judged_early = self.judged_early or judged_early(transcript)
            return transcript
        finally:
            if self._drops_proxy_after_play():
                # Toxiproxy 2.12 can panic (link.go AddToxic: index out of range) when
                # toxics change while an old connection's link is still being torn
                # down; a fresh proxy per scenario keeps links and toxics in step.
                self.drop_proxy()

    def probe(self) -> Verdict:
        """The liveness property's verdict on one fresh probe."""
        return self._probe()[0]

    def _probe(self) -> tuple[Verdict, bool]:
        """The verdict on one fresh probe, and whether a silence in it was judged early."""
        probe = self.probe_request if self.probe_request is not None else self.codec.probe()
        scenario = probe_scenario(probe)
        transcript = self.play(scenario)
        verdict = get_property("liveness").judge(scenario, transcript, self.codec)
        return verdict, judged_early(transcript)

    def wait_idle(self) -> None:
        """Wait, up to one deadline, until a managed server has stopped using CPU.

        Before a play whose timing matters: what an earlier play left the server
        working on would slow it down. Without a managed server, nothing to wait on.
        """
        if self.server is not None:
            wait_idle(self.server.cpu_seconds, min(self.deadline, max(self.cutoff.left(), 0.0)))

    def liveness(self) -> Verdict:
        """Whether a fresh client's probe gets a valid answer (a crash says so).

        A probe whose silence was judged early is asked once more, waiting the whole
        deadline: a server still busy with what the example sent it (a slow request
        the example gave up on) makes no progress a socket can see, yet it is slow,
        not dead, and the property that plays such requests (``growth``,
        ``stall-isolation``) is the one to say so.
        """
        verdict, early = self._probe()
        if not verdict.ok and early:
            settle, self.settle = self.settle, False
            try:
                verdict = self.probe()
            finally:
                self.settle = settle
        if verdict.ok:
            return verdict
        crash = self.server.poll_crash() if self.server else None
        if crash is not None:
            return Verdict.failed(f"crash: after this scenario the {crash.describe()}", "crash")
        return Verdict(False, f"after this scenario, {verdict.message}", verdict.kind)

    def crash_after_failure(self, ended: float, deadline: float) -> CrashReport | None:
        """After a failing example that ended at ``ended``, whether the managed server died of it.

        A dying process may still hold its port for a moment; waiting for it here
        keeps the next example (a shrink candidate) from being blamed for this one.
        The wait is one ``deadline`` from the end of the example (the liveness
        probe's own time counts), ends the moment the process exits, or once its
        processes have looked idle for :data:`CRASH_IDLE` (alive and doing nothing:
        not on its way out), and is skipped when the server has already exited or
        still answers a fresh client.
        """
        if self.server is None:
            return None
        crash = self.server.poll_crash()
        if crash is not None or self.liveness().ok:
            return crash
        wait = min(ended + deadline - time.monotonic(), self.cutoff.left())
        crash = self.server.wait_crash_unless_idle(wait, CRASH_IDLE)
        if crash is None:
            self.cutoff.check()  # the wait was cut short: no verdict on what it did not see
        return crash

    def meets_fresh_server(self) -> bool:
        """Whether the next play meets a freshly started server (it is dead: it will be)."""
        return self.server is not None and not self.server.alive()

    def ensure_server(self) -> None:
        """Restart the managed server if it has died."""
        if self.server is not None and not self.server.alive():
            self.restart()

    def restart(self) -> None:
        """Restart the managed server (a dead one, or a live one to start clean)."""
        assert self.server is not None
        began = time.monotonic()
        old = self.address
        restarted = self.server.restart()
        if restarted.transport != "unix":  # a unix server keeps its loopback front
            self.address = restarted
        if self._proxy is not None and self.address != old:
            self.drop_proxy()
        self.restart_seconds = time.monotonic() - began

    def refresh(self) -> None:
        """Restart a live managed server, to start clean (a dead one restarts when needed)."""
        if self.server is None or not self.server.alive():
            return
        with contextlib.suppress(OutOfTime):
            self.restart()

    def plays_until(
        self, fails: Callable[[], bool], *, limit: int, seconds: float
    ) -> FreshPlays | None:
        """Restart the managed server, then play until ``fails()``; how many plays it took.

        At most ``limit`` plays and ``seconds`` seconds. None without a managed
        server (nothing to restart).

        Raises:
            OutOfTime, KeyboardInterrupt: the cutoff came first.
        """
        if self.server is None:
            return None
        until = time.monotonic() + seconds
        plays = 0
        self.restart()
        while plays < limit and time.monotonic() < until:
            self.cutoff.check()
            plays += 1
            if fails():
                return FreshPlays(plays, True)
        return FreshPlays(plays, False) if plays else None

    def drop_proxy(self) -> None:
        """Close the fault proxy (a new one opens when a scenario needs it)."""
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None

    def _drops_proxy_after_play(self) -> bool:
        return self.fault_layer is not None and self.fault_layer.backend == "toxiproxy"

    def _runner(self, scenario: Scenario) -> Runner:
        proxy: FaultProxy | None = None
        if scenario.needs_fault_layer():
            proxy = self._fault_proxy()
            if self._drops_proxy_after_play():
                proxy = DeletedAfterPlay(proxy)
        settle = quiet = None
        # Through a fault proxy too: the runner then judges by the server's own sockets.
        early = self.settle and self._early_timeouts
        if early:
            settle = self._replies.settle(shrinking=self.shrinking, deadline=self.deadline)
        activity = self.server.activity() if self.server is not None else None
        if settle is not None and activity is not None:
            quiet = self._replies.quiet_settle(settle)
        options = RunnerOptions(
            deadline=self.deadline,
            greeting=self.greeting,
            preamble=self.preamble,
            settle=settle,
            activity=activity if quiet is not None else None,
            quiet_settle=quiet,
            hasty=self.hasty,
            holder=activity,
            release_grace=0.0 if early else full_grace(self.deadline),
            early=early,
            unaccepting=self._unaccepting,
            cutoff=self.cutoff,
        )
        return Runner(self.address, self.codec, options=options, proxy=proxy)

    def _fault_proxy(self) -> FaultProxy:
        if self._proxy is None:
            if self.fault_layer is None:
                raise TargetError("internal: a scenario needs a fault layer but none is open")
            self._proxy = self.fault_layer.open_proxy(self.address)
        return self._proxy
