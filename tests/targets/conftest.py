"""Fixtures for tests/targets: target servers started through ``wirefault serve``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from targets_support import TargetProcess


class ServerPool:
    """One long-lived server per target name, shared by the tests of one xdist worker.

    Starting a server costs an interpreter start-up, so behaviour tests that leave
    the server as they found it share one; tests that stop or reconfigure a
    server start their own with the ``fresh_server`` fixture.
    """

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.servers: dict[str, TargetProcess] = {}

    def get(self, name: str) -> TargetProcess:
        """The running server ``name``, started on first use (or again if it died)."""
        server = self.servers.get(name)
        if server is None or not server.alive():
            server = TargetProcess(name, self.logdir)
            self.servers[name] = server
        return server

    def stop_all(self) -> None:
        """Stop every server of the pool."""
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """The per-worker pool of shared servers."""
    servers = ServerPool(tmp_path_factory.mktemp("target-logs"))
    yield servers
    servers.stop_all()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Callable[..., TargetProcess]]:
    """A factory of servers owned by one test, all stopped when it ends.

    Call it as ``fresh_server(name, env={...}, host=...)``, like TargetProcess.
    """
    started: list[TargetProcess] = []

    def start(
        name: str, *, env: Mapping[str, str] | None = None, host: str = "127.0.0.1"
    ) -> TargetProcess:
        server = TargetProcess(name, tmp_path, env=env, host=host)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
