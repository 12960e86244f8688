"""The embedded UDP proxy: one listening socket, one upstream socket per client flow.

::

    client ──> listen socket ──[upstream stubs]──>  flow socket ──> server
    client <── listen socket <──[downstream stubs]── flow socket <── server

Like a NAT, each client address gets its own upstream socket (a *flow*),
so replies go back to the client that caused them. A flow's socket is not
connected: it takes replies from any port of the server's host, as servers that
answer from a fresh socket (TFTP style) need. A flow idle for
``idle_timeout`` seconds is forgotten. Datagrams up to 65507 bytes pass,
empty ones too. Sockets are non-blocking and read from loop callbacks; a
datagram the kernel will not take right now is lost, as UDP allows.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from typing import cast

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError
from wirefault.faults.embedded._core import AppliedToxic, ProxyCore, bind_error
from wirefault.faults.embedded.toxics import DATAGRAM_TOXICS, Datagram, DatagramStub
from wirefault.faults.toxics import Toxic

__all__ = ["UdpProxy"]

log = logging.getLogger("wirefault.embedded")

_MAX_DATAGRAM = 65535
#: Datagrams read per readiness callback, so one busy socket cannot starve the loop.
_BATCH = 64

SockAddr = tuple[str, int] | tuple[str, int, int, int]


class _DatagramLink:
    """The chain of toxic stubs for one direction of one flow, ending in ``sink``."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.stubs: list[DatagramStub] = []
        self._sink = sink
        self._count = 0
        self._entry: Callable[[Datagram], None] = self._deliver

    def feed(self, data: bytes) -> None:
        """A datagram arrives; number it within this flow and direction."""
        dgram = Datagram(data, self._count)
        self._count += 1
        self._entry(dgram)

    def _deliver(self, dgram: Datagram) -> None:
        self._sink(dgram.data)

    def _relink(self) -> None:
        for i, stub in enumerate(self.stubs):
            stub.next = self.stubs[i + 1].feed if i + 1 < len(self.stubs) else self._deliver
        self._entry = self.stubs[0].feed if self.stubs else self._deliver

    def add(self, toxic: Toxic, index: int | None = None) -> None:
        """Put a stub for ``toxic`` at ``index`` (default: last), drawing from its seed."""
        impl = DATAGRAM_TOXICS[toxic.type]
        stub = DatagramStub(toxic, impl, random.Random(toxic.seed or 0))
        self.stubs.insert(len(self.stubs) if index is None else index, stub)
        self._relink()

    def update(self, toxic: Toxic) -> bool:
        """Give the stub of ``toxic.key`` the new attributes; False if there is none.

        What it holds stays held (a delayed datagram keeps its time).
        """
        for stub in self.stubs:
            if stub.toxic.key == toxic.key:
                stub.toxic = toxic
                return True
        return False

    def remove(self, key: str) -> None:
        """Take out the stub for ``key``, releasing what it holds first."""
        for stub in [s for s in self.stubs if s.toxic.key == key]:
            stub.release()
            self.stubs.remove(stub)
        self._relink()

    def close(self) -> None:
        """Drop whatever is held and stop every timer."""
        for stub in self.stubs:
            stub.cancel()


class _Flow:
    """One client address: its upstream socket and its two links."""

    def __init__(self, proxy: UdpProxy, seq: int, client: SockAddr, sock: socket.socket) -> None:
        self.proxy = proxy
        self.seq = seq
        self.client = client
        self.sock = sock
        self.last_active = asyncio.get_running_loop().time()
        self.up = _DatagramLink(self._to_server)
        self.down = _DatagramLink(self._to_client)
        #: The serial of the last toxic this flow has taken up (see ToxicSnapshot).
        self.synced = 0
        self.sync()
        asyncio.get_running_loop().add_reader(sock.fileno(), self._on_readable)

    def sync(self) -> None:
        """Take up the toxics added to the proxy since last time (before any datagram passes)."""
        snapshot = self.proxy.table.snapshot
        if snapshot.serial == self.synced:
            return
        for entry in snapshot.added_after(self.synced):
            # The connection filter, then toxicity; datagram stubs draw from the seed alone.
            if not entry.toxic.proxy_level and entry.rng_for(self.seq) is not None:
                link = self.up if entry.toxic.stream == "upstream" else self.down
                link.add(entry.toxic)
        self.synced = snapshot.serial

    def detach(self, key: str) -> None:
        """Take toxic ``key`` off both directions."""
        self.up.remove(key)
        self.down.remove(key)

    def reconfigure(self, entry: AppliedToxic) -> None:
        """Give this flow ``entry``'s new attributes; toxicity is decided again."""
        toxic = entry.toxic
        if toxic.proxy_level or entry.serial > self.synced:
            return  # not taken up yet: sync() will take the new one
        link = self.up if toxic.stream == "upstream" else self.down
        if entry.rng_for(self.seq) is None:
            link.remove(toxic.key)
        elif not link.update(toxic):
            order = [e.toxic.key for e in self.proxy.table.entries]
            before = order[: order.index(toxic.key)] if toxic.key in order else order
            link.add(toxic, sum(1 for s in link.stubs if s.toxic.key in before))

    def _to_server(self, data: bytes) -> None:
        try:
            self.sock.sendto(data, self.proxy.upstream_sockaddr)
        except OSError as exc:  # full buffer, ICMP error from an earlier send, closed
            log.debug("flow %s: datagram to server lost: %s", self.client, exc)

    def _to_client(self, data: bytes) -> None:
        self.proxy.send_to_client(data, self.client)

    def _on_readable(self) -> None:
        for _ in range(_BATCH):
            try:
                data, source = self.sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ECONNREFUSED: the server port is closed
                log.debug("flow %s: %s", self.client, exc)
                continue
            if source[0] != self.proxy.upstream_sockaddr[0]:
                continue  # only the server's host answers; from any port (TFTP style)
            self.last_active = asyncio.get_running_loop().time()
            self.sync()
            self.down.feed(data)

    def close(self) -> None:
        """Stop reading, drop held datagrams and close the upstream socket."""
        self.up.close()
        self.down.close()
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


class UdpProxy(ProxyCore):
    """A UDP listener that forwards each client's datagrams through its own flow."""

    def __init__(
        self, name: str, upstream: Address, listen: Address, *, idle_timeout: float = 60.0
    ) -> None:
        super().__init__(name, upstream, listen)
        self.idle_timeout = idle_timeout
        self.flows: dict[SockAddr, _Flow] = {}
        self._sock: socket.socket | None = None
        self._upstream: tuple[socket.AddressFamily, SockAddr] | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Resolve the upstream, bind the listen address and start the idle sweep."""
        await self._resolve()
        self._bind()
        if self._sweeper is None:
            self._schedule_sweep()

    async def _resolve(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                self.upstream.host, self.upstream.port, type=socket.SOCK_DGRAM
            )
        except OSError as exc:
            raise FaultLayerError(
                f"cannot resolve the UDP upstream {self.upstream}: {exc}; "
                "give an IP address or a resolvable name"
            ) from exc
        family, _, _, _, sockaddr = infos[0]
        self._upstream = (family, cast(SockAddr, sockaddr))

    def _bind(self) -> None:
        sock = socket.socket(self.listen.family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.listen.host, self.listen.port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise bind_error("bind", self.listen, exc) from exc
        self.listen = self.listen.with_port(sock.getsockname()[1])
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._on_readable)

    @property
    def upstream_sockaddr(self) -> SockAddr:
        """The server's resolved address (set by :meth:`start`)."""
        assert self._upstream is not None
        return self._upstream[1]

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(_BATCH):
            try:
                data, client = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("proxy %s: %s", self.name, exc)
                continue
            flow = self.flows.get(client) or self._open_flow(client)
            if flow is not None:
                flow.last_active = asyncio.get_running_loop().time()
                flow.sync()
                flow.up.feed(data)

    def _open_flow(self, client: SockAddr) -> _Flow | None:
        assert self._upstream is not None  # set by start()
        family = self._upstream[0]
        seq = self.table.next_connection()
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as exc:
            log.warning("proxy %s: no socket for client %s: %s", self.name, client, exc)
            return None
        try:
            # Not connected (the first sendto binds it): a server may answer from another
            # port than it listens on, as TFTP servers do; see _Flow.
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            log.warning("proxy %s: cannot reach %s: %s", self.name, self.upstream, exc)
            return None
        flow = _Flow(self, seq, client, sock)
        self.flows[client] = flow
        return flow

    def send_to_client(self, data: bytes, client: SockAddr) -> None:
        """Send a reply from the listen socket; lost if the socket is gone or full."""
        if self._sock is None:
            return
        try:
            self._sock.sendto(data, client)
        except OSError as exc:
            log.debug("proxy %s: datagram to %s lost: %s", self.name, client, exc)

    def _schedule_sweep(self) -> None:
        interval = max(min(self.idle_timeout / 4, 5.0), 0.05)
        self._sweeper = asyncio.get_running_loop().call_later(interval, self._sweep)

    def _sweep(self) -> None:
        cutoff = asyncio.get_running_loop().time() - self.idle_timeout
        for client, flow in list(self.flows.items()):
            if flow.last_active < cutoff:
                del self.flows[client]
                flow.close()
        self._schedule_sweep()

    def sync_toxics(self) -> None:
        """Put the toxics added since last time on every live flow they select."""
        for flow in list(self.flows.values()):
            flow.sync()

    async def detach(self, entries: tuple[AppliedToxic, ...]) -> None:
        """Take ``entries`` off every live flow, the last added first; held datagrams go on."""
        for entry in reversed(entries):
            for flow in list(self.flows.values()):
                flow.detach(entry.toxic.key)

    async def reconfigure(self, entry: AppliedToxic) -> None:
        """Give every live flow ``entry``'s new attributes and toxicity."""
        for flow in list(self.flows.values()):
            flow.reconfigure(entry)

    @property
    def serving(self) -> bool:
        """Whether the listen socket is open."""
        return self._sock is not None

    def retarget_upstream(self) -> None:
        """Forget the resolved upstream (it changed): the next :meth:`enable` resolves it."""
        self._upstream = None

    async def disable(self) -> None:
        """Close the listen socket and forget every flow."""
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for flow in self.flows.values():
            flow.close()
        self.flows.clear()

    async def enable(self) -> None:
        """Bind the same port again (resolving the upstream first, if it never was)."""
        if self._sock is None:
            if self._upstream is None:
                await self.start()
            else:
                self._bind()

    async def close(self) -> None:
        """Disable and stop the idle sweep."""
        await self.disable()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
