"""The runner: plays a scenario against a server and records a transcript.

The runner owns the client sockets. It never hangs: every wait has a
deadline, so a scenario's wall time is bounded by its pauses plus one deadline
per wait. What the server did (closed, reset, sent garbage, said nothing) is
recorded, never raised; properties judge the transcript afterwards.

Reads: an ``Expect`` reads until its frames arrive, the server closes, or no
byte has arrived for ``deadline`` seconds (an idle deadline, so a slow but
moving transfer is not a hang), and at most ``deadline * 20`` in all. For
unframed codecs (``raw``) an ``Expect`` reads until ``quiet`` seconds pass with
no new byte after the first one. For UDP, a datagram whose reply does not come
is re-sent up to ``udp_retries`` times, since loopback may drop under bursts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wirefault.addresses import Address
from wirefault.channels import Channel, PeerState, open_channel
from wirefault.codecs.base import Codec, Decoder
from wirefault.errors import FaultLayerError, FrameError, UsageError
from wirefault.faults.base import FaultProxy
from wirefault.scenario import (
    Abort,
    AddToxic,
    Close,
    Expect,
    ExpectClose,
    HalfClose,
    Open,
    Pause,
    RemoveToxic,
    Scenario,
    Send,
    Step,
)
from wirefault.transcript import ConnRecord, Event, ExpectResult, Outcome, Transcript

__all__ = ["Runner", "RunnerOptions"]

_TOTAL_FACTOR = 20
#: The least time a connect may take: more than one SYN retransmission (1 s).
CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class RunnerOptions:
    """Timing knobs of the runner.

    Attributes:
        deadline: seconds a wait may go without progress before it counts as a hang.
        quiet: seconds of silence that end a response for unframed codecs.
        udp_retries: re-sends of a datagram whose reply is missing.
        greeting: the server speaks first (SMTP, FTP, POP3): each new connection
            reads one frame before its first step, and that frame is not counted.
    """

    deadline: float = 1.0
    quiet: float = 0.05
    udp_retries: int = 3
    greeting: bool = False


class _Live:
    """A connection being played: its channel, decoder and record."""

    def __init__(self, record: ConnRecord, channel: Channel | None, decoder: Decoder) -> None:
        self.record = record
        self.channel = channel
        self.decoder = decoder
        self.consumed = 0  # frames already claimed by earlier Expect steps
        self.last_datagram = b""
        # How reading ended (eof/rst/refused), apart from record.end: a write that
        # hits a reset must not stop us reading the reply already in our buffer.
        self.read_end: PeerState | None = None
        # Grown in place (bytes += would copy a megabyte reply once per recv) and
        # frozen into the record when the scenario ends.
        self.sent = bytearray()
        self.received = bytearray()

    @property
    def usable(self) -> bool:
        return self.channel is not None and not self.channel.closed


class Runner:
    """Plays scenarios against the server at ``address``.

    Args:
        address: the server; scenarios with toxics connect to ``proxy.listen`` instead.
        codec: frames responses.
        options: timing knobs.
        proxy: the fault proxy in front of the server, for scenarios with toxics.
    """

    def __init__(
        self,
        address: Address,
        codec: Codec,
        *,
        options: RunnerOptions | None = None,
        proxy: FaultProxy | None = None,
    ) -> None:
        if (codec.transport == "datagram") != (address.transport == "udp"):
            raise UsageError(
                f"codec {codec.name!r} speaks {codec.transport} but the target is {address}; "
                "use --codec datagram with udp:// targets and a stream codec otherwise"
            )
        self.address = address
        self.codec = codec
        self.options = options or RunnerOptions()
        self.proxy = proxy

    def play(self, scenario: Scenario) -> Transcript:
        """Play ``scenario`` once and return what happened.

        Raises:
            FaultLayerError: the scenario has toxics but the runner has no proxy,
                or the fault layer refused a toxic.
        """
        if scenario.needs_fault_layer() and self.proxy is None:
            raise FaultLayerError(
                "this scenario applies toxics but no fault layer is in use; "
                "run it with --backend embedded (or toxiproxy)"
            )
        # Fault-free scenarios go straight to the server: a proxy in the path would
        # re-chunk the client's writes and blur exactly what the scenario controls.
        address = self._proxy().listen if scenario.needs_fault_layer() else self.address
        play = _Play(self, scenario, address)
        try:
            for toxic in scenario.toxics:
                self._proxy().add_toxic(toxic)
                play.note("toxic_add", detail=toxic.describe())
            for index, step in enumerate(scenario.steps):
                play.step(index, step)
        finally:
            play.finish()
            if self.proxy is not None and scenario.needs_fault_layer():
                self.proxy.clear_toxics()
        return play.transcript

    def _proxy(self) -> FaultProxy:
        assert self.proxy is not None  # checked in play()
        return self.proxy


class _Play:
    """The state of one play of one scenario."""

    def __init__(self, runner: Runner, scenario: Scenario, address: Address) -> None:
        self.runner = runner
        self.address = address
        self.opts = runner.options
        self.codec = runner.codec
        self.scenario = scenario
        self.transcript = Transcript()
        self.live: dict[int, _Live] = {}
        self.start = time.monotonic()

    def note(self, what: str, conn: int | None = None, data: bytes = b"", detail: str = "") -> None:
        self.transcript.events.append(
            Event(time.monotonic() - self.start, what, conn, data, detail)
        )

    # -- steps ------------------------------------------------------------------------------

    def step(self, index: int, step: Step) -> None:
        if isinstance(step, Open):
            self.conn(step.conn, rcvbuf=step.rcvbuf)
        elif isinstance(step, Send):
            self.send(step)
        elif isinstance(step, Expect):
            self.expect(index, step.conn, step.count, step.recv_size, step.read_pause)
        elif isinstance(step, ExpectClose):
            self.expect(index, step.conn, -1, 0, 0.0)
        elif isinstance(step, HalfClose):
            self.half_close(step.conn)
        elif isinstance(step, Abort | Close):
            self.end(step)
        elif isinstance(step, Pause):
            self.note("pause", detail=f"{step.seconds:g}s")
            time.sleep(step.seconds)
        elif isinstance(step, AddToxic) and step.toxic is not None:
            self.runner._proxy().add_toxic(step.toxic)
            self.note("toxic_add", detail=step.toxic.describe())
        elif isinstance(step, RemoveToxic):
            self.runner._proxy().remove_toxic(step.name)
            self.note("toxic_remove", detail=step.name)

    def conn(self, number: int, rcvbuf: int | None = None) -> _Live:
        live = self.live.get(number)
        if live is not None:
            return live
        # A full accept queue drops SYNs, and Linux resends one after 1 s: a connect
        # gets that long and more before it counts as failed.
        timeout = max(self.opts.deadline, CONNECT_TIMEOUT)
        channel, state = open_channel(self.address, timeout=timeout, rcvbuf=rcvbuf)
        record = ConnRecord(conn=number)
        if channel is None:
            record.end = "refused"
            self.note("refused", number, detail=state)
        else:
            self.note("open", number)
        live = _Live(record, channel, self.codec.response_decoder())
        self.live[number] = live
        self.transcript.conns[number] = record
        if self.opts.greeting and channel is not None:
            self.read_until(live, 1, 65536, 0.0)
            live.consumed = len(record.frames)
        return live

    def send(self, step: Send) -> None:
        live = self.conn(step.conn)
        for i, chunk in enumerate(step.chunks):
            if i and step.pause:
                time.sleep(step.pause)
            if not live.usable or live.record.end in ("rst", "refused"):
                return
            assert live.channel is not None
            result = live.channel.send(chunk, time.monotonic() + self.opts.deadline)
            sent = chunk[: result.sent]
            live.sent += sent
            live.last_datagram = chunk
            self.note("send", step.conn, sent)
            if result.state == "timeout":
                live.record.short_send = True
                self.note("send_blocked", step.conn, detail=f"{result.sent}/{len(chunk)}B")
                return
            if result.state != "ok":
                self.mark_end(live, result.state)
                return

    def expect(self, index: int, number: int, count: int, recv_size: int, pause: float) -> None:
        live = self.conn(number)
        began = time.monotonic()
        target = live.consumed + count if count >= 0 else -1
        outcome = self.read_until(live, target, recv_size or 65536, pause)
        got = live.record.frames[live.consumed :]
        live.consumed = len(live.record.frames)
        elapsed = time.monotonic() - began
        pending = live.decoder.pending if self.codec.framed else 0
        self.transcript.expects.append(
            ExpectResult(index, number, count, tuple(got), outcome, elapsed, pending)
        )

    def read_until(self, live: _Live, target: int, size: int, pause: float) -> Outcome:
        """Read until ``target`` frames (``-1``: until close); see the module docstring."""
        record = live.record
        began = time.monotonic()
        idle_deadline = began + self.opts.deadline
        hard_deadline = began + self.opts.deadline * _TOTAL_FACTOR
        retries = self.opts.udp_retries if live.channel and live.channel.datagram else 0
        quiet_after: float | None = None
        while True:
            if record.garbage:
                return "garbage"
            if target >= 0 and len(record.frames) >= target and self.codec.framed:
                return "ok"
            if live.channel is None:
                return "refused"
            if live.read_end is not None:
                return "ok" if target < 0 else _outcome(live.read_end)
            if not live.usable:
                return "timeout"
            now = time.monotonic()
            limit = min(idle_deadline, hard_deadline)
            if quiet_after is not None:
                limit = min(limit, quiet_after)
            if now >= limit:
                if quiet_after is not None and now >= quiet_after:
                    return "ok"
                if retries and live.last_datagram:
                    retries -= 1
                    assert live.channel is not None
                    live.channel.send(live.last_datagram, now + self.opts.deadline)
                    self.note("retry", record.conn, live.last_datagram)
                    idle_deadline = time.monotonic() + self.opts.deadline
                    continue
                return "timeout"
            assert live.channel is not None
            result = live.channel.recv(size, limit)
            if result.data:
                live.received += result.data
                self.note("recv", record.conn, result.data, detail=self.source(result.port))
                self.decode(live, result.data)
                idle_deadline = time.monotonic() + self.opts.deadline
                if not self.codec.framed and target >= 0:
                    quiet_after = time.monotonic() + self.opts.quiet
                if pause:
                    time.sleep(pause)
            elif result.state == "ok" and live.channel.datagram:
                self.note("recv", record.conn, b"", detail=self.source(result.port))
                self.decode(live, b"")  # an empty datagram is a datagram
            elif result.state in ("eof", "rst", "refused"):
                if result.state == "eof":
                    self.decode(live, b"")
                live.read_end = result.state
                self.mark_end(live, result.state)

    def source(self, port: int) -> str:
        """A UDP reply's origin when it is not the port we sent to (a TFTP-style server)."""
        return f"from port {port}" if port and port != self.address.port else ""

    def decode(self, live: _Live, data: bytes) -> None:
        try:
            live.record.frames.extend(live.decoder.feed(data))
        except FrameError as exc:
            live.record.garbage = str(exc)
            self.note("garbage", live.record.conn, detail=str(exc))

    def mark_end(self, live: _Live, state: PeerState) -> None:
        if live.record.end == "open":
            live.record.end = "rst" if state == "timeout" else state  # type: ignore[assignment]
            self.note(live.record.end, live.record.conn)

    def half_close(self, number: int) -> None:
        live = self.conn(number)
        if live.usable:
            assert live.channel is not None
            state = live.channel.half_close()
            self.note("half_close", number)
            if state != "ok":
                self.mark_end(live, state)

    def end(self, step: Abort | Close) -> None:
        live = self.conn(step.conn)
        if not live.usable:
            return
        assert live.channel is not None
        if isinstance(step, Abort):
            live.channel.abort()
            what = "aborted"
        else:
            live.channel.close()
            what = "closed"
        self.note("abort" if what == "aborted" else "close", step.conn)
        if live.record.end == "open":
            live.record.end = what  # type: ignore[assignment]

    def finish(self) -> None:
        for live in self.live.values():
            if live.channel is not None:
                live.channel.close()
            live.record.sent = bytes(live.sent)
            live.record.received = bytes(live.received)
        self.transcript.elapsed = time.monotonic() - self.start


def _outcome(end: str) -> Outcome:
    return "rst" if end == "rst" else "refused" if end == "refused" else "eof"
