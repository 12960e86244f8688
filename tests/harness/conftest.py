"""Tiny in-process servers for the runner's own tests (loopback, port 0, stopped after)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wirefault.addresses import Address

Handler = Callable[[socket.socket, list[object]], None]


class TinyServer:
    """A TCP or UDP server on 127.0.0.1:0 running ``handler`` per connection in threads."""

    def __init__(self, handler: Handler, *, udp: bool = False) -> None:
        kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.udp = udp
        self.handler = handler
        self.seen: list[object] = []  # what handlers observed (errors, data)
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.conns: list[socket.socket] = []
        if not udp:
            self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.address = Address("udp" if udp else "tcp", "127.0.0.1", self.sock.getsockname()[1])
        self._loop = threading.Thread(target=self._run, daemon=True)
        self._loop.start()

    def _run(self) -> None:
        if self.udp:
            self.handler(self.sock, self.seen)
            return
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.conns.append(conn)
            t = threading.Thread(target=self.handler, args=(conn, self.seen), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        self.stopping.set()
        self._loop.join(5)
        for conn in self.conns:
            conn.close()
        for t in self.threads:
            t.join(5)
        self.sock.close()


@pytest.fixture
def tiny_server() -> Iterator[Callable[..., TinyServer]]:
    """A factory of TinyServers, all stopped after the test."""
    servers: list[TinyServer] = []

    def make(handler: Handler, *, udp: bool = False) -> TinyServer:
        server = TinyServer(handler, udp=udp)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stopping.set()
    for server in servers:
        server.stop()


#: Starts ``python SCRIPT MODE`` (a script that prints ``listening on HOST:PORT``):
#: the process and its port.
ScriptStarter = Callable[[Path, str], tuple["subprocess.Popen[str]", int]]


@pytest.fixture
def script_server() -> Iterator[ScriptStarter]:
    """Starts test server scripts, each in a session of its own; kills them all after."""
    started: list[subprocess.Popen[str]] = []

    def start(script: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
        process = subprocess.Popen(
            [sys.executable, str(script), mode],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        return process, int(line.rsplit(":", 1)[1])

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
