"""wirefault's pytest plugin (registered through the ``pytest11`` entry point).

A robustness suite for your own server in five lines::

    import pytest

    @pytest.mark.wirefault(codec="lenprefix")
    def test_server_survives_the_network(wirefault_server, wirefault_check, wirefault_property):
        wirefault_check(wirefault_server("python -m myserver --port {port}"), wirefault_property)

``wirefault_property`` parametrizes the test with every property that applies
to the marker's codec (or the marker's ``properties=[...]``), so each property
is its own test item and pytest-xdist spreads them over workers.

Fixtures: ``fault_layer`` (session), ``fault_proxy`` (factory), ``wirefault_server``
(session-scoped factory: one server per command per worker, so it is safe inside a
test's own ``@given``), ``wirefault_check`` (runs properties, fails the test with
the shrunk scenario and its replay file).

Options (group ``wirefault``): ``--wirefault-backend`` (or ``WIREFAULT_BACKEND``;
default ``auto``), ``--wirefault-profile`` (``ci``/``dev``/``thorough``; default
``ci`` when ``CI`` is set, else ``dev``), ``--wirefault-out`` (replay files;
default ``wirefault-out``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from wirefault.plugin_support import (
    CheckFunction,
    ServerFactory,
    ServerPool,
    make_check,
    marker_options,
    property_names_for,
)

__all__ = [
    "fault_layer",
    "fault_proxy",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_protocol",
    "wirefault_check",
    "wirefault_server",
]

BACKEND_OPTION = "--wirefault-backend"
PROFILE_OPTION = "--wirefault-profile"
OUT_OPTION = "--wirefault-out"
_SERVERS_USED = pytest.StashKey[list[ServerPool]]()
_CURRENT_ITEM = pytest.StashKey[pytest.Item]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--wirefault-*`` options."""
    group = parser.getgroup("wirefault", "wirefault: fuzzing and fault injection for servers")
    group.addoption(
        BACKEND_OPTION,
        choices=("auto", "embedded", "toxiproxy", "none"),
        default=None,
        help="fault backend for wirefault fixtures; none: no faults "
        "(default: $WIREFAULT_BACKEND or auto)",
    )
    group.addoption(
        PROFILE_OPTION,
        choices=("ci", "dev", "thorough"),
        default=None,
        help="Hypothesis profile for wirefault properties (default: ci when $CI is set, else dev)",
    )
    group.addoption(OUT_OPTION, default="wirefault-out", help="where replay files go")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``wirefault`` marker."""
    config.addinivalue_line(
        "markers",
        "wirefault(codec='raw', properties=None, oracles=(), requests=None, preamble=None, "
        "**options): defaults for wirefault_check and the properties wirefault_property runs",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``wirefault_property`` with the properties the marker selects."""
    if "wirefault_property" not in metafunc.fixturenames:
        return
    names = property_names_for(marker_options(metafunc.definition.get_closest_marker("wirefault")))
    metafunc.parametrize("wirefault_property", names, ids=names)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Keep the test being run at hand, so the session's servers know who used them."""
    item.config.stash[_CURRENT_ITEM] = item
    try:
        return (yield)
    finally:
        del item.config.stash[_CURRENT_ITEM]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test whose server crashed, with the exit status and stderr tail.

    A test that failed on its own keeps its own report (``yield`` re-raises it).
    """
    yield
    for pool in item.stash.get(_SERVERS_USED, []):
        crash = pool.take_crash()
        if crash is not None:
            pytest.fail(f"the server under test crashed during this test: {crash}", pytrace=False)


def _backend(config: pytest.Config) -> str:
    chosen = config.getoption(BACKEND_OPTION)
    return str(chosen or os.environ.get("WIREFAULT_BACKEND") or "auto")


def _profile(config: pytest.Config) -> str:
    chosen = config.getoption(PROFILE_OPTION)
    return str(chosen or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def fault_layer(pytestconfig: pytest.Config) -> Iterator[Any]:
    """The session's fault layer (``--wirefault-backend``), closed at the end of the session.

    With the backend ``none`` a test that asks for it is skipped, with the reason.
    """
    from wirefault.faults import open_fault_layer

    backend = _backend(pytestconfig)
    if backend == "none":
        pytest.skip("faults are off (wirefault backend 'none'); this test needs a fault layer")
    with open_fault_layer(backend) as layer:
        yield layer


@pytest.fixture
def fault_proxy(fault_layer: Any) -> Iterator[Callable[..., Any]]:
    """A factory: ``fault_proxy("127.0.0.1:6379")`` returns a proxy, closed after the test."""
    from wirefault.addresses import Address, parse_address

    opened: list[Any] = []

    def make(upstream: str | Address, **kwargs: Any) -> Any:
        address = parse_address(upstream) if isinstance(upstream, str) else upstream
        proxy = fault_layer.open_proxy(address, **kwargs)
        opened.append(proxy)
        return proxy

    yield make
    for proxy in opened:
        proxy.close()


@pytest.fixture(scope="session")
def _wirefault_pools() -> Iterator[dict[tuple[str, str], ServerPool]]:
    pools: dict[tuple[str, str], ServerPool] = {}
    yield pools
    for pool in pools.values():
        pool.close()


@pytest.fixture(scope="session")
def wirefault_server(
    pytestconfig: pytest.Config, _wirefault_pools: dict[tuple[str, str], ServerPool]
) -> ServerFactory:
    """A factory: ``wirefault_server("cmd --port {port}", transport="tcp")`` -> a running server.

    One instance per command per worker, started on a free port and kept for the
    session; a crash fails the test that saw it (exit status and stderr tail) and
    the server is restarted for the next test. Session-scoped, as the servers are:
    a test's own ``@given`` may use it (every example gets the same running server,
    restarted only after a crash) without Hypothesis's function-scoped fixture check.
    """

    def start(command: str, *, transport: str = "tcp", host: str = "127.0.0.1") -> Any:
        key = (command, transport)
        pool = _wirefault_pools.get(key)
        if pool is None:
            pool = _wirefault_pools[key] = ServerPool(command, transport=transport, host=host)
        item = pytestconfig.stash.get(_CURRENT_ITEM, None)
        if item is not None:
            used = item.stash.setdefault(_SERVERS_USED, [])
            if not any(p is pool for p in used):
                used.append(pool)
        return pool.get()

    return start


@pytest.fixture
def wirefault_check(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> CheckFunction:
    """Run properties against a server; fails the test with the shrunk scenario and replay path.

    ``wirefault_check(target, property=None, *, codec=..., properties=..., oracles=...,
    max_examples=..., deadline=..., probe=..., greeting=..., requests=..., preamble=...)``
    where ``target`` is what ``wirefault_server`` returned, an ``Address`` or
    ``"HOST:PORT"``; keyword defaults come from the ``wirefault`` marker (``codec`` may be
    ``package.module:Name``; ``requests`` a request file or a list of requests;
    ``preamble`` bytes or escaped text). Returns the campaign result when nothing failed.
    """
    defaults = marker_options(request.node.get_closest_marker("wirefault"))
    layer = None
    if _backend(pytestconfig) != "none":
        layer = request.getfixturevalue("fault_layer")
    return make_check(
        defaults=defaults,
        fault_layer=layer,
        profile=_profile(pytestconfig),
        out_dir=Path(str(pytestconfig.getoption(OUT_OPTION))),
        label=request.node.nodeid,
    )
