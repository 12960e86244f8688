"""Fixtures of the embedded-proxy TCP tests: a recording echo server and a proxy in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _embedded_servers import TcpRecorder

from wirefault.faults.base import FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer


@pytest.fixture
def echo() -> Iterator[TcpRecorder]:
    """A TCP echo server that records what each connection sent, and in which reads."""
    server = TcpRecorder()
    yield server
    server.close()


@pytest.fixture
def layer() -> Iterator[EmbeddedFaultLayer]:
    """An embedded fault layer, closed after the test."""
    with EmbeddedFaultLayer() as fault_layer:
        yield fault_layer


@pytest.fixture
def proxy(layer: EmbeddedFaultLayer, echo: TcpRecorder) -> FaultProxy:
    """A proxy of ``layer`` in front of ``echo``."""
    return layer.open_proxy(echo.address)
