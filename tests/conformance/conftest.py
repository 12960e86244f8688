"""Fixtures for the conformance suites: the ``backend`` fixture runs a test on each fault layer.

The ``embedded`` layer is made per test. The ``toxiproxy`` layer uses
``$TOXIPROXY_URL`` when set, else starts a real ``toxiproxy-server`` once per
session (per xdist worker). Without either, the Toxiproxy part of the suite is
skipped with the reason shown — unless ``WIREFAULT_REQUIRE_TOXIPROXY=1`` (CI
sets it), when it fails instead. The ``proxy-server`` layer is the same
Toxiproxy client code (:class:`ToxiproxyFaultLayer`) talking to a
``wirefault proxy-server`` started once per session: the embedded proxy
behind Toxiproxy's API (marked slow: it runs in the ``slow`` tox env).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _api_support import ProxyServer
from _conformance_support import EchoServer, need_toxiproxy

from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer

#: The proxy-server rounds of the suite run once, in the ``slow`` tox env, not once per
#: Python: the same embedded proxy behind an HTTP API that test_toxiproxy_api.py checks
#: in every env.
BACKENDS = ("embedded", "toxiproxy", pytest.param("proxy-server", marks=pytest.mark.slow))


@pytest.fixture(scope="session")
def toxiproxy_layer() -> Iterator[ToxiproxyFaultLayer]:
    """The session's Toxiproxy layer (a server started here, or ``$TOXIPROXY_URL``)."""
    need_toxiproxy()
    url = os.environ.get("TOXIPROXY_URL")
    layer = ToxiproxyFaultLayer.connect(url) if url else ToxiproxyFaultLayer.start()
    with layer:
        yield layer


@pytest.fixture(scope="session")
def proxy_server() -> Iterator[ProxyServer]:
    """A ``wirefault proxy-server`` for the session, stopped at its end."""
    server = ProxyServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def proxy_server_layer(proxy_server: ProxyServer) -> Iterator[ToxiproxyFaultLayer]:
    """The Toxiproxy backend's client code, pointed at ``wirefault proxy-server``."""
    with ToxiproxyFaultLayer.connect(proxy_server.url) as layer:
        yield layer


@pytest.fixture
def embedded_layer() -> Iterator[EmbeddedFaultLayer]:
    """An embedded layer for one test.

    Cheap to start, and per test on purpose: a layer's loop thread outliving the
    test would show up in other suites' thread-leak checks run by the same worker.
    """
    with EmbeddedFaultLayer() as layer:
        yield layer


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each fault backend's name in turn."""
    name: str = request.param
    return name


@pytest.fixture
def backend(request: pytest.FixtureRequest, backend_name: str) -> FaultLayer:
    """Each fault backend in turn (``proxy-server`` is a Toxiproxy layer, like ``toxiproxy``)."""
    layer: FaultLayer = request.getfixturevalue(f"{backend_name.replace('-', '_')}_layer")
    return layer


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    """A recording echo server for one test."""
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(backend: FaultLayer, echo: EchoServer) -> Iterator[FaultProxy]:
    """A proxy of ``backend`` in front of ``echo``, closed after the test."""
    opened = backend.open_proxy(echo.address)
    yield opened
    opened.close()
