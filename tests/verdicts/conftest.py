"""Fixtures of the verdict tests: verdict_servers.py and zoo targets, on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from verdicts_support import server_command, zoo_command

from wirefault.addresses import Address
from wirefault.target import ServerProcess


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerProcess]]:
    """Start a server (a verdict_servers.py KIND, or ``zoo=NAME``); all stopped after the test."""
    started: list[ServerProcess] = []

    def start(kind: str = "", *, zoo: str = "", udp: bool = False) -> ServerProcess:
        command = zoo_command(zoo) if zoo else server_command(kind)
        process = ServerProcess(command, Address("udp" if udp else "tcp", "127.0.0.1", 0))
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.close()
