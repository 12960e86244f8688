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

Pacing (:mod:`wirefault.pacing`): when the server's end of a stream can be seen
(a server on this machine), the chunks of a ``Send`` go out as soon as the
server has read the previous one, rather than a drawn pause apart, and a
``HalfClose`` waits until the server has read everything (or, for a server we
cannot see, until its kernel acknowledged everything). With ``settle`` set, an
``Expect`` whose server has read everything and stayed silent that long ends
as a timeout before its deadline; through a fault proxy, by the server's own
sockets on its port (:mod:`wirefault.server_port`), never by the proxy's.

Leaks (:mod:`wirefault.release`): for a server wirefault started
(``holder``), an ``Abort`` first waits for the server to accept the
connection and notes its socket's inode; once the play has closed every
connection, the runner waits for the server to close those sockets too, and
records in each connection's ``release`` whether it did.

Every wait is also bounded by the run's :class:`~wirefault.cutoff.Cutoff` (the
time budget's end, or an interrupt); a wait that the cutoff ends raises
(``OutOfTime`` or ``KeyboardInterrupt``) instead of being recorded as a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from wirefault.addresses import Address
from wirefault.channels import Channel, PeerState, open_channel
from wirefault.codecs.base import Codec, Decoder
from wirefault.cutoff import Cutoff
from wirefault.errors import FaultLayerError, FrameError, UsageError
from wirefault.faults.base import FaultProxy
from wirefault.pacing import (
    READ_BOUND,
    ChunkPacer,
    ProxiedSilence,
    Quiet,
    Silence,
    drain,
    unread_at_close,
)
from wirefault.release import EARLY_IDLE, FULL_IDLE, ReleaseCheck, accepted_inode
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
from wirefault.server_activity import ServerActivity
from wirefault.server_port import Balance, ServerPort
from wirefault.sockdiag import DiagSocket, PeerWatch
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
        quiet: seconds of silence that end a response for unframed codecs (sooner once
            the silence is certain, with ``settle``: no more of the response can come).
        udp_retries: re-sends of a datagram whose reply is missing.
        greeting: the server speaks first (SMTP, FTP, POP3): each new connection
            reads one frame before its first step, and that frame is not counted.
        preamble: a handshake (MQTT CONNECT, AUTH, a startup message): each new
            connection sends these requests in turn, after the greeting and before
            its first step, and reads each one's reply (not counted either). They
            are not part of the connection's ``sent`` bytes.
        pace: pace chunks and half-closes by the server's reads where they can be
            seen (False: drawn pauses only, as for a remote server).
        read_bound: the longest wait for the server to read one chunk.
        settle: seconds of certain silence (the server read everything, sent
            nothing) after which an Expect may end early as a timeout; None: never.
        activity: the processes of a server wirefault started, to judge a silence
            sooner when they show the server waiting (None: cannot be seen).
        quiet_settle: that sooner silence, seconds (with ``activity`` and ``settle``).
        hasty: a silence may be certain even while the server's processes are at
            work; only for a play whose early timeout can keep a failure standing,
            never make one (a confirmation: see :mod:`wirefault.judging`).
        holder: the processes of a server wirefault started, to check that it closes the
            sockets of the connections a play resets (None: not checked; see
            :mod:`wirefault.release`).
        release_grace: seconds the server gets to close them before its idleness counts
            (0: judged early; see :func:`wirefault.release.full_grace`).
        early: judgements before their deadline are allowed (a failure that rests on one
            is verified by a play without): a connect after one that timed out, to a
            server whose accept queue is still full, counts as timed out at once.
        unaccepting: a connect of an earlier play timed out: with ``early``, every connect
            of this play checks the server's accept queue first (after a connect of this
            play timed out, the next ones do anyway).
        cutoff: when the run must stop (budget, interrupt); None: never.
    """

    deadline: float = 1.0
    quiet: float = 0.05
    udp_retries: int = 3
    greeting: bool = False
    preamble: tuple[bytes, ...] = ()
    pace: bool = True
    read_bound: float = READ_BOUND
    settle: float | None = None
    activity: ServerActivity | None = None
    quiet_settle: float | None = None
    hasty: bool = False
    holder: ServerActivity | None = None
    release_grace: float = 0.0
    early: bool = False
    unaccepting: bool = False
    cutoff: Cutoff | None = None


class _Live:
    """A connection being played: its channel, decoder and record."""

    def __init__(
        self,
        record: ConnRecord,
        channel: Channel | None,
        decoder: Decoder,
        watching: Callable[[Channel], PeerWatch | None] | None,
        bound: float,
        quiet: Callable[[], Quiet | None] | None = None,
    ) -> None:
        self.record = record
        self._quiet = quiet  # gives each wait of the pacer its judge of the server's quiet
        self.channel = channel
        self.decoder = decoder
        # The server's end is looked up on first use: most connections never need it.
        self._watching = watching
        self._watch: PeerWatch | None = None
        self._pacer: ChunkPacer | None = None
        self._bound = bound
        self.consumed = 0  # frames already claimed by earlier Expect steps
        self.heard = 0.0  # when bytes last arrived (monotonic)
        self.last_datagram = b""
        # How reading ended (eof/rst/refused), apart from record.end: a write that
        # hits a reset must not stop us reading the reply already in our buffer.
        self.read_end: PeerState | None = None
        # Grown in place (bytes += would copy a megabyte reply once per recv) and
        # frozen into the record when the scenario ends.
        self.sent = bytearray()
        self.received = bytearray()
        #: Connected through the fault proxy (not to the server itself).
        self.proxied = False
        #: The inode of the server's end when we reset the connection (0: not looked up).
        self.server_inode = 0

    @property
    def watch(self) -> PeerWatch | None:
        """The server's end of this connection (None: pacing off, or it cannot be seen)."""
        if self._watching is not None and self.channel is not None:
            self._watch = self._watching(self.channel)
            self._watching = None
        return self._watch

    @property
    def pacer(self) -> ChunkPacer:
        """Spaces this connection's chunks by the server's reads."""
        if self._pacer is None:
            self._pacer = ChunkPacer(self.watch, self._bound, self._quiet)
        return self._pacer

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
        if scenario.needs_fault_layer() and play.settles():
            # Taken before the play connects: the server's sockets open now are not ours.
            play.server_port = ServerPort.open(play.diag(), self.address)
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
        play.check_release()
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
        self._diag: DiagSocket | None = None
        self._diag_tried = False
        self.cut = self.opts.cutoff or Cutoff()
        #: Through a fault proxy: the server's sockets, to judge its silence by.
        self.server_port: ServerPort | None = None
        #: A connect of this play timed out (the server may accept no one).
        self.unaccepting = False

    def watching(self, channel: Channel) -> PeerWatch | None:
        """A watch on the server end of ``channel`` (None: it cannot be seen)."""
        return channel.watch(self.diag())

    def diag(self) -> DiagSocket | None:
        """The play's socket-diagnostics handle, opened on first use (None: unavailable)."""
        if not self._diag_tried:
            self._diag_tried = True
            self._diag = DiagSocket.open()
        return self._diag

    def accept_queue_full(self, address: Address) -> bool:
        """Whether the server at ``address``, on this machine, accepts no one now: its
        listeners' accept queues are full (False: not so, or it cannot be seen)."""
        diag = self.diag()
        if diag is None or address.transport != "tcp" or address != self.runner.address:
            return False  # a proxy in between accepts for itself
        return bool(diag.accept_queue_full(address.port))

    def by(self, seconds: float) -> float:
        """The moment ``seconds`` from now, or the cutoff if that comes first."""
        return self.cut.bound(time.monotonic() + seconds)

    def sleep(self, seconds: float) -> None:
        """Pause ``seconds``, or until the cutoff (then raise)."""
        time.sleep(max(min(seconds, self.cut.left()), 0.0))
        self.cut.check()

    def note(self, what: str, conn: int | None = None, data: bytes = b"", detail: str = "") -> None:
        self.transcript.events.append(
            Event(time.monotonic() - self.start, what, conn, data, detail)
        )

    # -- steps ------------------------------------------------------------------------------

    def step(self, index: int, step: Step) -> None:
        self.cut.check()
        if isinstance(step, Open):
            self.conn(step.conn, rcvbuf=step.rcvbuf, direct=step.direct)
        elif isinstance(step, Send):
            self.send(step)
        elif isinstance(step, Expect):
            self.expect(index, step.conn, step.count, step.recv_size, step.read_pause)
        elif isinstance(step, ExpectClose):
            self.expect(index, step.conn, -1, 0, 0.0)
        elif isinstance(step, HalfClose):
            self.half_close(step.conn, at_once=step.at_once)
        elif isinstance(step, Abort | Close):
            self.end(step)
        elif isinstance(step, Pause):
            self.note("pause", detail=f"{step.seconds:g}s")
            self.sleep(step.seconds)
        elif isinstance(step, AddToxic) and step.toxic is not None:
            self.runner._proxy().add_toxic(step.toxic)
            self.note("toxic_add", detail=step.toxic.describe())
        elif isinstance(step, RemoveToxic):
            self.runner._proxy().remove_toxic(step.name)
            self.note("toxic_remove", detail=step.name)

    def conn(self, number: int, rcvbuf: int | None = None, *, direct: bool = False) -> _Live:
        live = self.live.get(number)
        if live is not None:
            return live
        address = self.runner.address if direct else self.address
        # A full accept queue drops SYNs, and Linux resends one after 1 s: a connect
        # gets that long and more before it counts as failed.
        timeout = min(max(self.opts.deadline, CONNECT_TIMEOUT), self.cut.left())
        self.cut.check()
        # A connect timed out already, and the server's accept queue is still full: this
        # one would wait as long for nothing. Certain after a timeout in this play; after
        # one in an earlier play, judged early (a failure that rests on it is verified
        # by a play that waits its connects out).
        hint = self.opts.early and self.opts.unaccepting
        if (self.unaccepting or hint) and self.accept_queue_full(address):
            channel, state = None, "timeout"
            if self.unaccepting:
                self.note("unaccepted", number, detail="the accept queue is still full")
            else:
                self.note("silent", number, detail="connect judged unaccepted: accept queue full")
        else:
            channel, state = open_channel(address, timeout=timeout, rcvbuf=rcvbuf)
            self.unaccepting = self.unaccepting or state == "timeout"
        if state == "timeout":
            self.cut.check()  # cut short by the cutoff: not the server's doing
        record = ConnRecord(conn=number)
        if channel is None:
            record.end = "refused"
            record.unaccepted = state == "timeout"
            self.note("refused", number, detail=state)
        else:
            self.note("open", number)
        watching = self.watching if self.opts.pace else None
        live = _Live(
            record,
            channel,
            self.codec.response_decoder(),
            watching,
            self.opts.read_bound,
            self.quiet,
        )
        live.proxied = address != self.runner.address
        if self.server_port is not None and not live.proxied and channel is not None:
            self.server_port.leave_out(channel.local_port())
        self.live[number] = live
        self.transcript.conns[number] = record
        if self.opts.greeting and channel is not None:
            self.read_until(live, 1, 65536, 0.0)
            live.consumed = len(record.frames)
        if self.opts.preamble and channel is not None:
            self.handshake(live)
        return live

    def handshake(self, live: _Live) -> None:
        """Send each preamble request and read its reply (the first frame, or until quiet)."""
        record = live.record
        for request in self.opts.preamble:
            if not live.usable or live.record.end != "open":
                return
            assert live.channel is not None
            result = live.channel.send(request, self.by(self.opts.deadline))
            live.last_datagram = request
            self.note("send", record.conn, request[: result.sent], detail="preamble")
            if result.state != "ok":
                self.mark_end(live, result.state)
                return
            self.read_until(live, len(record.frames) + 1, 65536, 0.0)
            live.consumed = len(record.frames)
        live.last_datagram = b""

    def send(self, step: Send) -> None:
        live = self.conn(step.conn)
        for i, chunk in enumerate(step.chunks):
            if not live.usable or live.record.end in ("rst", "refused"):
                return
            assert live.channel is not None
            cut = ""
            if i and not live.channel.datagram:
                # The server should read the previous chunk on its own: wait for that read
                # (bounded by read_bound, far below any cutoff that matters).
                seen, waited = live.pacer.between(live.channel.sent, step.pause)
                live.record.cuts.append(seen)
                cut = f"cut {seen} after {waited * 1000:.2f}ms"
                self.cut.check()
            elif i and step.pause:
                self.sleep(step.pause)
            result = live.channel.send(chunk, self.by(self.opts.deadline))
            if result.state == "timeout":
                self.cut.check()
            sent = chunk[: result.sent]
            live.sent += sent
            live.decoder.note_sent(sent)
            live.last_datagram = chunk
            self.note("send", step.conn, sent, detail=cut)
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
        answered = live.heard - began if live.heard > began else None
        self.transcript.expects.append(
            ExpectResult(index, number, count, tuple(got), outcome, elapsed, pending, answered)
        )

    def read_until(self, live: _Live, target: int, size: int, pause: float) -> Outcome:
        """Read until ``target`` frames (``-1``: until close); see the module docstring."""
        record = live.record
        began = time.monotonic()
        idle_deadline = began + self.opts.deadline
        hard_deadline = began + self.opts.deadline * _TOTAL_FACTOR
        retries = self.opts.udp_retries if live.channel and live.channel.datagram else 0
        quiet_after: float | None = None
        silence = self.silence(live)
        while True:
            if record.garbage:
                return "garbage"
            if target >= 0 and len(record.frames) >= target and self.codec.framed:
                return "ok"
            if live.channel is None:
                # A connect that timed out: the server is there, and accepts no one.
                return "timeout" if record.unaccepted else "refused"
            if live.read_end is not None:
                return "ok" if target < 0 else _outcome(live.read_end)
            if not live.usable:
                return "timeout"
            now = time.monotonic()
            limit = self.cut.bound(min(idle_deadline, hard_deadline))
            if quiet_after is not None:
                limit = min(limit, quiet_after)
            if now >= limit:
                self.cut.check()  # a wait the cutoff ends is not a timeout
                if quiet_after is not None and now >= quiet_after:
                    return "ok"
                if retries and live.last_datagram:
                    retries -= 1
                    self.retry(live)
                    idle_deadline = time.monotonic() + self.opts.deadline
                    continue
                return "timeout"
            # A look that is not certain falls through to a read (a poll, when the look
            # took longer than its period): looks must never keep a reply from being read.
            if silence is not None and now >= silence.due() and silence.certain():
                if quiet_after is not None:
                    return "ok"  # an unframed response ends once no more of it can come
                if retries and live.last_datagram:
                    # The server read the datagram and said nothing: it may have been lost
                    # on the way back, so re-send it now rather than after a deadline.
                    retries -= 1
                    self.retry(live)
                    silence.heard()
                    continue
                self.note("silent", record.conn, detail=silence.describe(now - began))
                return "timeout"
            assert live.channel is not None
            result = live.channel.recv(size, min(limit, silence.due()) if silence else limit)
            if result.data:
                live.heard = time.monotonic()
                if silence is not None:
                    silence.heard()
                live.received += result.data
                self.note("recv", record.conn, result.data, detail=self.source(result.port))
                self.decode(live, result.data)
                idle_deadline = time.monotonic() + self.opts.deadline
                if not self.codec.framed and target >= 0:
                    quiet_after = time.monotonic() + self.opts.quiet
                if pause:
                    self.sleep(pause)
            elif result.state == "ok" and live.channel.datagram:
                self.note("recv", record.conn, b"", detail=self.source(result.port))
                self.decode(live, b"")  # an empty datagram is a datagram
            elif result.state in ("eof", "rst", "refused"):
                if result.state == "eof":
                    self.decode(live, b"")
                live.read_end = result.state
                self.mark_end(live, result.state)

    def retry(self, live: _Live) -> None:
        """Re-send the last datagram of ``live``, whose reply is missing."""
        assert live.channel is not None
        live.channel.send(live.last_datagram, self.by(self.opts.deadline))
        self.note("retry", live.record.conn, live.last_datagram)

    def silence(self, live: _Live) -> Silence | None:
        """A judge of certain silence for a read on ``live``, when settling is on and possible."""
        settle = self.opts.settle
        if settle is None or not self.settles() or live.channel is None:
            return None
        if live.proxied:
            # The socket we could watch is the proxy's, which holds data back on purpose:
            # judge by the server's own sockets, or not at all.
            if self.server_port is None or live.channel.datagram:
                return None
            return ProxiedSilence(self.server_port, self.balance, settle)
        return Silence(
            lambda: live.watch,
            settle,
            live.channel.sent,
            self.quiet(),
            wait_for_work=not self.opts.hasty,
        )

    def quiet(self) -> Quiet | None:
        """A judge of the server's processes' quiet, for one wait (None: they cannot be seen)."""
        if self.opts.activity is None or self.opts.quiet_settle is None or not self.settles():
            return None
        return Quiet(self.opts.activity, self.opts.quiet_settle)

    def settles(self) -> bool:
        """Whether silences may be judged early in this play (settle set, shorter than the
        deadline, and pacing on)."""
        settle = self.opts.settle
        return settle is not None and settle < self.opts.deadline and self.opts.pace

    def balance(self) -> Balance:
        """What this play has sent, received and seen end on its connections through the proxy."""
        sent = received = ended = 0
        for live in self.live.values():
            if not live.proxied:
                continue  # past the proxy: not in the server port's counts either
            received += len(live.received)
            if live.channel is not None:
                sent += live.channel.sent
                received += live.channel.pending()
            if live.read_end is not None or not live.usable:
                ended += 1
        return Balance(sent, received, ended)

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

    def half_close(self, number: int, *, at_once: bool = False) -> None:
        live = self.conn(number)
        if live.usable:
            assert live.channel is not None
            if at_once:
                # The EOF right behind the last bytes (nothing in between), then a note of
                # what the server had still not read when it came.
                state = live.channel.half_close()
                drained = unread_at_close(live.watch, live.channel.sent)
            else:
                # The last bytes and the EOF as separate events for the server, as from
                # any client that finished writing well before shutting down.
                drained = drain(live.watch, live.channel.sent, self.opts.read_bound, self.quiet())
                state = live.channel.half_close()
            self.note("half_close", number, detail=drained)
            if state != "ok":
                self.mark_end(live, state)

    def end(self, step: Abort | Close) -> None:
        live = self.conn(step.conn)
        if not live.usable:
            return
        assert live.channel is not None
        if isinstance(step, Abort):
            holder = self.opts.holder
            if holder is not None and not live.proxied and not live.channel.datagram:
                watch = live.watch if self.opts.pace else self.watching(live.channel)
                live.server_inode = accepted_inode(watch, holder, self.by(self.opts.read_bound))
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
        if self._diag is not None:
            self._diag.close()
        self.transcript.elapsed = time.monotonic() - self.start

    def check_release(self) -> None:
        """Whether the server closed its end of every connection the play reset."""
        holder = self.opts.holder
        inodes = {n: live.server_inode for n, live in self.live.items() if live.server_inode}
        if holder is None or not inodes:
            return
        grace = self.opts.release_grace
        idle = FULL_IDLE if grace else EARLY_IDLE
        limit = grace + self.opts.deadline
        check = ReleaseCheck(holder, idle=idle, grace=grace, limit=limit, cutoff=self.cut)
        for number, found in check.judge(inodes).items():
            record = self.live[number].record
            record.release, record.release_after = found.release, found.after
            self.note("release", number, detail=f"{found.release} after {found.after:.3f}s")


def _outcome(end: str) -> Outcome:
    return "rst" if end == "rst" else "refused" if end == "refused" else "eof"
