"""``open_fault_layer``: which backend each request gets, and the errors for impossible ones."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from _toxiproxy_fakes import FakeToxiproxy, fake_binary, need_toxiproxy_binary

from wirefault.errors import FaultLayerError, UsageError
from wirefault.faults import BACKEND_NAMES, open_fault_layer
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer


@pytest.fixture(autouse=True)
def no_toxiproxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from a clean environment: no URL, default binary lookup."""
    for name in ("TOXIPROXY_URL", "TOXIPROXY_SERVER", "WIREFAULT_BACKEND"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``toxiproxy-server`` unfindable."""
    monkeypatch.setenv("TOXIPROXY_SERVER", "/nonexistent/toxiproxy-server")


@pytest.fixture
def fake() -> Iterator[FakeToxiproxy]:
    server = FakeToxiproxy()
    yield server
    server.close()


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _backend_of(name: str | None, transport: str = "tcp") -> str:
    with open_fault_layer(name, transport=transport) as layer:
        return layer.backend


def test_unknown_backend_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="choose one of: auto, embedded, toxiproxy"):
        open_fault_layer("toxyproxy")
    assert BACKEND_NAMES == ("auto", "embedded", "toxiproxy")


def test_unknown_transport_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="use tcp or udp"):
        open_fault_layer("embedded", transport="sctp")


def test_embedded_is_embedded() -> None:
    assert _backend_of("embedded") == "embedded"


@pytest.mark.parametrize("name", ["auto", "embedded", None])
def test_udp_is_always_embedded(name: str | None) -> None:
    assert _backend_of(name, "udp") == "embedded"


def test_toxiproxy_with_udp_explains_why_not() -> None:
    with pytest.raises(UsageError, match=r"TCP only.*--backend embedded"):
        open_fault_layer("toxiproxy", transport="udp")


def test_wirefault_backend_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFAULT_BACKEND", "embedded")
    assert _backend_of(None) == "embedded"


def test_a_bad_wirefault_backend_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFAULT_BACKEND", "docker")
    with pytest.raises(UsageError, match="from WIREFAULT_BACKEND"):
        open_fault_layer()


def test_explicit_backend_wins_over_wirefault_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFAULT_BACKEND", "toxiproxy")
    assert _backend_of("embedded") == "embedded"


@pytest.mark.usefixtures("no_binary")
def test_toxiproxy_that_cannot_be_had_says_how_to_install() -> None:
    with pytest.raises(FaultLayerError) as caught:
        open_fault_layer("toxiproxy")
    message = str(caught.value)
    assert "go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0" in message
    assert "TOXIPROXY_URL" in message


def test_toxiproxy_at_a_dead_url_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", _dead_url())
    with pytest.raises(FaultLayerError, match="unset TOXIPROXY_URL"):
        open_fault_layer("toxiproxy")


def test_toxiproxy_url_is_used_when_set(
    monkeypatch: pytest.MonkeyPatch, fake: FakeToxiproxy
) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", fake.url)
    with open_fault_layer("toxiproxy") as layer:
        assert isinstance(layer, ToxiproxyFaultLayer)
        assert layer.url == fake.url
        assert layer.server is None


@pytest.mark.usefixtures("no_binary")
def test_auto_uses_a_toxiproxy_url_that_answers(
    monkeypatch: pytest.MonkeyPatch, fake: FakeToxiproxy
) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", fake.url)
    with open_fault_layer("auto") as layer:
        assert isinstance(layer, ToxiproxyFaultLayer)
        assert layer.url == fake.url


@pytest.mark.usefixtures("no_binary")
def test_auto_falls_back_to_embedded_without_toxiproxy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _backend_of("auto") == "embedded"
    monkeypatch.setenv("TOXIPROXY_URL", _dead_url())
    assert _backend_of("auto") == "embedded"


def test_auto_falls_back_to_embedded_when_the_binary_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TOXIPROXY_SERVER", fake_binary(tmp_path, "exit 1"))
    assert _backend_of("auto") == "embedded"


def test_auto_starts_toxiproxy_when_the_binary_exists() -> None:
    need_toxiproxy_binary()
    with open_fault_layer("auto") as layer:
        assert isinstance(layer, ToxiproxyFaultLayer)
        assert layer.server is not None
        pid = layer.server.pid
    assert not Path(f"/proc/{pid}").exists()


def test_explicit_toxiproxy_starts_the_binary() -> None:
    need_toxiproxy_binary()
    with open_fault_layer("toxiproxy") as layer:
        assert isinstance(layer, ToxiproxyFaultLayer)
        assert layer.server is not None
