"""The embedded TCP proxy: a listener, and per accepted client a connection with two links.

::

    client ──> _Side(client) ──feed──> Link(upstream)   ──pump──> _Side(server) ──> server
    client <── _Side(client) <──pump── Link(downstream) <──feed── _Side(server) <── server

The upstream (TCP or a unix socket path) is dialled when a client connects;
if that fails the client is accepted and then closed, as Toxiproxy does. An
EOF is passed on as a half-close, an RST (or any socket error) as an RST to
the other side, and the connection goes away once both directions ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from typing import cast

from wirefault.addresses import Address
from wirefault.faults.embedded._core import AppliedToxic, ProxyCore, bind_error
from wirefault.faults.embedded._link import Link
from wirefault.faults.embedded.toxics import End
from wirefault.pacing import READ_BOUND
from wirefault.sockdiag import DiagSocket, PeerWatch, watch_peer

__all__ = ["TcpProxy"]

log = logging.getLogger("wirefault.embedded")

#: How long dialling the upstream may take before the client is closed.
DIAL_TIMEOUT = 10.0
#: How long close() waits for the last sockets to go.
CLOSE_TIMEOUT = 5.0
_LINGER_RST = struct.pack("ii", 1, 0)
#: How often a paced write looks whether the server has read the previous piece.
_READ_POLL = 0.0005


class _Side(asyncio.Protocol):
    """One socket of a connection: feeds one link, is the sink of the other."""

    def __init__(self, conn: _Conn, feeds: Link) -> None:
        self.conn = conn
        self.feeds = feeds
        self.transport: asyncio.Transport | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self.written = 0  # bytes handed to the transport
        self._diag: DiagSocket | None = None
        self._watch: PeerWatch | None = None
        self._watched = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = self.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.feeds.gauge.pause = self.transport.pause_reading
        self.feeds.gauge.resume = self.transport.resume_reading
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        if not self.conn.closing:
            self.conn.sync()
            self.feeds.feed(data)

    def eof_received(self) -> bool:
        if not self.conn.closing:
            self.conn.sync()
            self.feeds.feed_end()
        return True  # keep the socket open: the other direction may still flow

    def connection_lost(self, exc: Exception | None) -> None:
        self._writable.set()
        if self._diag is not None:
            self._diag.close()
            self._diag = None
        self.conn.side_lost(exc)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def write(self, data: bytes) -> None:
        """Write ``data`` once the transport's buffer has room."""
        await self._writable.wait()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            self.written += len(data)

    def write_now(self, data: bytes) -> bool:
        """Write ``data`` unless the transport's buffer is full or closing; whether it did."""
        if not self._writable.is_set() or self.transport is None:
            return False
        if not self.transport.is_closing():
            self.transport.write(data)
            self.written += len(data)
        return True

    async def wait_read(self) -> None:
        """Wait until the server has read everything written to it (at most READ_BOUND).

        Only towards the server (the client is the runner, which reads when it
        means to), and only for a server on this machine; otherwise at once.
        """
        watch = self._server_watch()
        if watch is None:
            return
        loop = asyncio.get_running_loop()
        until = loop.time() + READ_BOUND
        while watch.unread(self.written) and loop.time() < until:
            await asyncio.sleep(_READ_POLL)

    def _server_watch(self) -> PeerWatch | None:
        if not self._watched and self is self.conn.server and self.transport is not None:
            self._watched = True
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                self._diag = DiagSocket.open()
                watch = watch_peer(sock, self._diag)
                self._watch = watch if watch is not None and watch.sees_reads else None
        return self._watch

    def write_eof(self) -> None:
        """Half-close this socket (FIN after what is buffered)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write_eof()

    def close(self) -> None:
        """Close after flushing what is buffered (FIN)."""
        if self.transport is not None:
            self.transport.close()

    def drop(self, *, rst: bool) -> None:
        """Close now, discarding buffered data; with ``rst``, send an RST."""
        if self.transport is None:
            return
        if rst:
            sock = self.transport.get_extra_info("socket")
            # Already gone, or a socket type without linger: a plain close will do.
            with contextlib.suppress(OSError):
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        self.transport.abort()


class _Conn:
    """One proxied connection: two sides, two links, and their tasks."""

    def __init__(self, proxy: TcpProxy, seq: int) -> None:
        self.proxy = proxy
        self.seq = seq
        self.closing = False
        self.up = Link("upstream", self._ended, self.reset)
        self.down = Link("downstream", self._ended, self.reset)
        self.client = _Side(self, self.up)
        self.server: _Side | None = None
        self._open_sides = 0
        self._dial: asyncio.Task[None] | None = None
        self.gone = asyncio.get_running_loop().create_future()
        #: The serial of the last toxic this connection has taken up (see ToxicSnapshot).
        self.synced = 0
        self.sync()

    def sync(self) -> None:
        """Take up the toxics added to the proxy since last time (cheap when there are none).

        Called before any byte or EOF is forwarded, so a toxic applies to what
        is read after :meth:`ToxicTable.add` returned in the caller's thread.
        """
        snapshot = self.proxy.table.snapshot
        if snapshot.serial == self.synced:
            return
        for entry in snapshot.added_after(self.synced):
            self._attach(entry)
        self.synced = snapshot.serial

    def _attach(self, entry: AppliedToxic) -> None:
        """Put ``entry``'s toxic on this connection's link if it selects this connection."""
        link = self.up if entry.toxic.stream == "upstream" else self.down
        if self.closing or link.ended or entry.toxic.proxy_level:
            return
        rng = entry.rng_for(self.seq)
        if rng is not None:
            link.add(entry.toxic, rng)

    async def reconfigure(self, entry: AppliedToxic) -> None:
        """Run ``entry``'s toxic on with its new attributes if it (still) selects us."""
        toxic = entry.toxic
        link = self.up if toxic.stream == "upstream" else self.down
        if self.closing or link.ended or toxic.proxy_level or entry.serial > self.synced:
            return  # not taken up yet: sync() will take the new one
        rng = entry.rng_for(self.seq)
        if rng is None:
            await link.remove(toxic.key, cleanup=False)
        elif not await link.update(toxic):
            order = [e.toxic.key for e in self.proxy.table.entries]
            before = order[: order.index(toxic.key)] if toxic.key in order else order
            link.add(toxic, rng, sum(1 for s in link.stubs if s.toxic.key in before))

    async def detach(self, keys: list[str]) -> None:
        """Take the toxics called ``keys`` off both links, in that order."""
        for key in keys:
            await self.up.remove(key)
            await self.down.remove(key)

    # -- lifecycle ---------------------------------------------------------------------------

    def side_made(self, side: _Side) -> None:
        """A socket of this connection is up; the first one (the client) starts the dial."""
        self._open_sides += 1
        if self.closing:
            side.drop(rst=False)
        elif self._dial is None:
            self._dial = asyncio.get_running_loop().create_task(
                self._connect(), name=f"wirefault-dial-{self.proxy.name}"
            )
            self._dial.add_done_callback(lambda _: self._maybe_gone())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        # Known before the dial ends, so that a reset meanwhile reaches its socket too.
        server = self.server = _Side(self, self.down)
        upstream = self.proxy.upstream
        try:
            if upstream.transport == "unix":
                coro = loop.create_unix_connection(lambda: server, upstream.path)
            else:
                coro = loop.create_connection(lambda: server, upstream.host, upstream.port)
            await asyncio.wait_for(coro, DIAL_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            log.info(
                "proxy %s: cannot reach %s (%s); closing client", self.proxy.name, upstream, exc
            )
            self.close()
            return
        if self.closing:
            server.drop(rst=False)
            return
        self.up.start(server)
        self.down.start(self.client)

    def _ended(self, link: Link, end: End) -> None:
        if end.kind == "reset":
            self.reset()
        elif end.kind == "close" or (self.up.ended and self.down.ended):
            self.close()
        else:
            # One direction is over: half-close its destination, keep the other flowing.
            dest = self.server if link is self.up else self.client
            if dest is not None:
                dest.write_eof()

    def close(self) -> None:
        """End the connection gracefully: flush, then FIN on both sides."""
        self._finish()
        self.client.close()
        if self.server is not None:
            self.server.close()

    def reset(self) -> None:
        """End the connection with an RST on both sides."""
        self._finish()
        self.client.drop(rst=True)
        if self.server is not None:
            self.server.drop(rst=True)

    def drop(self) -> None:
        """End the connection at once, discarding buffered data (FIN on both sides)."""
        self._finish()
        self.client.drop(rst=False)
        if self.server is not None:
            self.server.drop(rst=False)

    def _finish(self) -> None:
        self.closing = True
        self.up.cancel()
        self.down.cancel()
        if self._dial is not None and not self._dial.done():
            self._dial.cancel()

    def side_lost(self, exc: Exception | None) -> None:
        """A socket of this connection is closed; an error on it resets the other."""
        self._open_sides -= 1
        if not self.closing:
            # The peer or the network ended this side: an error means RST to the other.
            if exc is not None:
                self.reset()
            else:
                self.close()
        self._maybe_gone()

    def _maybe_gone(self) -> None:
        if not self.closing or self._open_sides > 0:
            return
        if self._dial is not None and not self._dial.done():
            return
        self.proxy.conns.discard(self)
        if not self.gone.done():
            self.gone.set_result(None)


class TcpProxy(ProxyCore):
    """A TCP listener that fronts a TCP or unix-socket upstream."""

    def __init__(self, name: str, upstream: Address, listen: Address) -> None:
        super().__init__(name, upstream, listen)
        self.conns: set[_Conn] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Bind and serve (also used by :meth:`enable`)."""
        await self._serve()

    async def _serve(self) -> None:
        sock = socket.socket(self.listen.family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.listen.host, self.listen.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise bind_error("listen on", self.listen, exc) from exc
        self.listen = self.listen.with_port(sock.getsockname()[1])
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, sock=sock)

    def _accept(self) -> asyncio.Protocol:
        # Called once per accepted socket, in accept order: the connection's number.
        conn = _Conn(self, self.table.next_connection())
        self.conns.add(conn)
        return conn.client

    def sync_toxics(self) -> None:
        """Put the toxics added since last time on every live connection they select."""
        for conn in list(self.conns):
            conn.sync()

    async def detach(self, entries: tuple[AppliedToxic, ...]) -> None:
        """Take ``entries`` off every live connection, the last added first."""
        if not entries or not self.conns:
            return
        keys = [entry.toxic.key for entry in reversed(entries)]
        await asyncio.gather(*(conn.detach(keys) for conn in list(self.conns)))

    async def reconfigure(self, entry: AppliedToxic) -> None:
        """Give every live connection ``entry``'s new attributes and toxicity."""
        await asyncio.gather(*(conn.reconfigure(entry) for conn in list(self.conns)))

    @property
    def serving(self) -> bool:
        """Whether the listener is open."""
        return self._server is not None

    async def disable(self) -> None:
        """Close the listener and drop every connection (FIN to both sides)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.conns):
            conn.drop()

    async def enable(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            await self._serve()

    async def close(self) -> None:
        """Disable, then wait (bounded) until every socket of every connection is closed."""
        await self.disable()
        pending = [conn.gone for conn in self.conns]
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT)
