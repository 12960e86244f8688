"""The Toxiproxy API client: timeouts, per-client host/port, PATCH, every failure a FaultLayerError.

Run against :class:`FakeToxiproxy`, a scripted HTTP server, so each failure is exact.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import toxiproxy.api
from _toxiproxy_fakes import FakeToxiproxy, error_body

from wirefault.errors import FaultLayerError, UsageError
from wirefault.faults.toxiproxy_api import ToxiproxyClient, ToxiproxyRefused


@pytest.fixture
def fake() -> Iterator[FakeToxiproxy]:
    server = FakeToxiproxy()
    yield server
    server.close()


def test_version_is_read_from_the_json_answer(fake: FakeToxiproxy) -> None:
    assert ToxiproxyClient(fake.url).version() == "fake"


def test_plain_text_version_of_older_servers_is_accepted(fake: FakeToxiproxy) -> None:
    fake.routes[("GET", "/version")] = (200, "2.1.4")
    assert ToxiproxyClient(fake.url).version() == "2.1.4"


def test_two_clients_keep_their_own_server() -> None:
    first, second = FakeToxiproxy(), FakeToxiproxy()
    try:
        second.routes[("GET", "/version")] = (200, '{"version": "second"}')
        a, b = ToxiproxyClient(first.url), ToxiproxyClient(second.url)
        assert (a.version(), b.version(), a.version()) == ("fake", "second", "fake")
        # toxiproxy-python's own class attributes are left alone.
        assert (toxiproxy.api.APIConsumer.host, toxiproxy.api.APIConsumer.port) == (
            "127.0.0.1",
            8474,
        )
    finally:
        first.close()
        second.close()


def test_patch_sends_a_json_body(fake: FakeToxiproxy) -> None:
    fake.routes[("PATCH", "/proxies/p")] = (200, '{"name": "p", "enabled": false}')
    answer = ToxiproxyClient(fake.url).request("PATCH", "/proxies/p", {"enabled": False})
    assert answer == {"name": "p", "enabled": False}
    method, path, body = fake.requests[-1]
    assert (method, path, json.loads(body)) == ("PATCH", "/proxies/p", {"enabled": False})


@pytest.mark.parametrize(
    ("method", "status", "message"),
    [
        ("POST", 409, "proxy already exists"),
        ("DELETE", 404, "toxic not found"),
        ("POST", 400, "invalid toxic type"),
        ("PATCH", 404, "proxy not found"),
        ("GET", 500, "something broke"),
        ("POST", 503, "overloaded"),
    ],
)
def test_error_answers_become_fault_layer_errors(
    fake: FakeToxiproxy, method: str, status: int, message: str
) -> None:
    fake.routes[(method, "/proxies/x")] = (status, error_body(message, status))
    with pytest.raises(ToxiproxyRefused) as caught:
        ToxiproxyClient(fake.url).request(method, "/proxies/x", {} if method != "GET" else None)
    assert isinstance(caught.value, FaultLayerError)
    assert caught.value.status == status
    assert message in str(caught.value)
    assert f"{method} /proxies/x" in str(caught.value)


def test_a_silent_server_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        client = ToxiproxyClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        start = time.monotonic()
        with pytest.raises(FaultLayerError, match=r"did not answer GET /version within 0\.3 s"):
            client.version()
        assert time.monotonic() - start < 3.0


def test_an_unreachable_server_says_where_to_look() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(FaultLayerError, match=r"cannot reach Toxiproxy.*TOXIPROXY_URL"):
        ToxiproxyClient(f"http://127.0.0.1:{port}").version()


def test_context_ends_the_unreachable_message() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ToxiproxyClient(f"http://127.0.0.1:{port}", context=lambda: "its log ends: boom")
    with pytest.raises(FaultLayerError, match="its log ends: boom"):
        client.version()


def test_http_proxy_settings_in_the_environment_are_ignored(
    fake: FakeToxiproxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:1")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert ToxiproxyClient(fake.url).version() == "fake"


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8474", "https://127.0.0.1:8474", "http://127.0.0.1:99999", "http://h/x"]
)
def test_malformed_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError, match="expected http://HOST:PORT"):
        ToxiproxyClient(url)


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("http://127.0.0.1", "http://127.0.0.1:8474"),
        ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_urls_are_normalised(url: str, normal: str) -> None:
    assert ToxiproxyClient(url).url == normal
