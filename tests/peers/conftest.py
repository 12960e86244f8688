"""The real peers several test modules share, started once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peers_support import need_binary, redis_command, redis_pid, running

from wirefault.addresses import Address


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Address]:
    """A redis-server with no persistence in a temporary directory; stopped afterwards."""
    binary = need_binary("redis-server", "redis-server")
    command = redis_command(binary, tmp_path_factory.mktemp("redis"))
    with running(command, Address("tcp", "127.0.0.1", 0), redis_pid) as address:
        yield address
