"""The Toxiproxy API server in process: wirefault's own routes, HTTP details, clean shutdown.

What both servers share is checked against the real toxiproxy-server in
tests/conformance/test_toxiproxy_api.py; here is what only wirefault has (UDP
proxies, every toxic, seeds, ``down``) and how the server itself behaves.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _embedded_servers import (
    TcpRecorder,
    UdpRecorder,
    connect,
    eventually,
    open_fds,
    recv_exactly,
)

from wirefault.addresses import Address
from wirefault.errors import UsageError
from wirefault.faults.api import ToxiproxyApi
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import Latency, Split


@pytest.fixture
def api(layer: EmbeddedFaultLayer) -> Iterator[ToxiproxyApi]:
    """The API on a free loopback port, over ``layer``."""
    with ToxiproxyApi(layer, port=0) as served:
        yield served


def call(api: ToxiproxyApi, method: str, path: str, body: object = None) -> requests.Response:
    """One request, the body sent as JSON."""
    data = None if body is None else json.dumps(body)
    return requests.request(method, api.url + path, data=data, timeout=10, proxies={})


def listen_of(shown: dict[str, object]) -> Address:
    host, port = str(shown["listen"]).rsplit(":", 1)
    return Address("tcp", host, int(port))


def test_the_api_binds_loopback_by_default(layer: EmbeddedFaultLayer) -> None:
    with ToxiproxyApi(layer, port=0) as served:
        assert served.url.startswith("http://127.0.0.1:")


def test_udp_proxies_live_on_wirefaults_routes_only(api: ToxiproxyApi) -> None:
    server = UdpRecorder(echo=False)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        body = {"name": "dns", "upstream": f"udp://{server.address.hostport}"}
        created = call(api, "POST", "/wirefault/proxies", body)
        assert created.status_code == 201
        shown = created.json()
        assert shown["transport"] == "udp" and shown["listen"].startswith("127.0.0.1:")
        assert call(api, "GET", "/proxies").json() == {}  # a Toxiproxy client never meets it
        assert call(api, "GET", "/proxies/dns").status_code == 404
        toxic = {"type": "drop", "stream": "upstream", "attributes": {"indices": [1]}}
        added = call(api, "POST", "/wirefault/proxies/dns/toxics", toxic)
        assert added.status_code == 200, added.text
        assert added.json()["attributes"]["indices"] == [1]
        host, port = shown["listen"].rsplit(":", 1)
        for payload in (b"0", b"1", b"2"):
            client.sendto(payload, (host, int(port)))
        assert eventually(lambda: server.received == [b"0", b"2"]), server.received
        assert call(api, "DELETE", "/wirefault/proxies/dns").status_code == 204
    finally:
        client.close()
        server.close()


def test_wirefault_toxics_take_seed_and_connection_and_show_on_both_routes(
    api: ToxiproxyApi, echo: TcpRecorder
) -> None:
    body = {"name": "t", "upstream": echo.address.hostport, "listen": "127.0.0.1:0"}
    assert call(api, "POST", "/proxies", body).status_code == 201
    split = Split(offsets=(2,), stream="upstream", seed=3, connection=0)
    added = call(api, "POST", "/wirefault/proxies/t/toxics", split.to_json())
    assert added.status_code == 200
    assert added.json() == split.to_json()
    # Toxiproxy's routes refuse a type Toxiproxy does not have...
    refused = call(api, "POST", "/proxies/t/toxics", {"type": "split"})
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid toxic type")
    # ...and show the one added through wirefault's in Toxiproxy's shape.
    (shown,) = call(api, "GET", "/proxies/t/toxics").json()
    assert shown == {
        "attributes": {"offsets": [2], "delay": 0},
        "name": "split_upstream",
        "type": "split",
        "stream": "upstream",
        "toxicity": 1,
    }
    bad = call(api, "POST", "/wirefault/proxies/t/toxics", {"type": "nosuch"})
    assert bad.status_code == 400 and "valid toxics:" in bad.json()["error"]


def test_down_through_wirefaults_routes_takes_the_proxy_down_until_removed(
    api: ToxiproxyApi, echo: TcpRecorder
) -> None:
    body = {"name": "d", "upstream": echo.address.hostport, "listen": "127.0.0.1:0"}
    listen = listen_of(call(api, "POST", "/proxies", body).json())
    assert call(api, "POST", "/wirefault/proxies/d/toxics", {"type": "down"}).status_code == 200
    assert call(api, "GET", "/proxies/d").json()["enabled"] is False
    with pytest.raises(ConnectionRefusedError):
        connect(listen).close()
    assert call(api, "DELETE", "/proxies/d/toxics/down_downstream").status_code == 204
    assert call(api, "GET", "/proxies/d").json()["enabled"] is True
    with connect(listen) as sock:
        sock.sendall(b"up")
        assert recv_exactly(sock, 2) == b"up"


def test_the_toxic_types_are_listed_with_where_they_apply(api: ToxiproxyApi) -> None:
    types = call(api, "GET", "/wirefault/toxics").json()
    assert types["latency"] == {
        "attributes": {"latency": 0, "jitter": 0},
        "transports": ["tcp"],
        "toxiproxy": True,
    }
    assert types["drop"]["transports"] == ["udp"] and types["drop"]["toxiproxy"] is False
    assert types["down"]["toxiproxy"] is False


def test_negative_attributes_are_shown_as_given_and_act_as_zero(
    api: ToxiproxyApi, echo: TcpRecorder
) -> None:
    body = {"name": "n", "upstream": echo.address.hostport, "listen": "127.0.0.1:0"}
    listen = listen_of(call(api, "POST", "/proxies", body).json())
    toxic = {"type": "latency", "attributes": {"latency": -100000}, "toxicity": 7}
    shown = call(api, "POST", "/proxies/n/toxics", toxic).json()
    assert (shown["attributes"]["latency"], shown["toxicity"]) == (-100000, 7)
    wirefault = call(api, "GET", "/wirefault/proxies/n/toxics/latency_downstream").json()
    assert (wirefault["attributes"]["latency"], wirefault["toxicity"]) == (0, 1.0)
    with connect(listen) as sock:
        sock.sendall(b"now")
        assert recv_exactly(sock, 3) == b"now"


def test_one_connection_carries_requests_after_errors_and_chunked_bodies(
    api: ToxiproxyApi,
) -> None:
    host, port = api.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("PUT", "/proxies", body=b'{"ignored": true}')  # 405, body unread
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (405, b"")
        body = b'{"name": "c", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}'
        conn.request("POST", "/proxies", body=iter([body[:10], body[10:]]), encode_chunked=True)
        answer = conn.getresponse()
        assert answer.status == 201, answer.read()
        answer.read()
        conn.request("GET", "/proxies/c")
        answer = conn.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["name"] == "c"
    finally:
        conn.close()


def test_closing_the_api_ends_idle_connections_and_leaves_nothing_behind(
    layer: EmbeddedFaultLayer, echo: TcpRecorder
) -> None:
    layer.open_proxy(echo.address).close()  # start the layer's loop thread first
    fds, threads = open_fds(), threading.active_count()
    api = ToxiproxyApi(layer, port=0)
    body = {"name": "x", "upstream": echo.address.hostport, "listen": "127.0.0.1:0"}
    assert call(api, "POST", "/proxies", body).status_code == 201
    host, port = api.url.removeprefix("http://").rsplit(":", 1)
    idle = http.client.HTTPConnection(host, int(port), timeout=10)
    idle.request("GET", "/version")
    idle.getresponse().read()  # the connection stays open, its handler thread waiting
    api.close()
    idle.close()
    assert eventually(lambda: threading.active_count() <= threads), threading.enumerate()
    assert eventually(lambda: open_fds() <= fds), (open_fds() - fds, fds)


def test_adopted_proxies_show_their_toxics(
    api: ToxiproxyApi, layer: EmbeddedFaultLayer, echo: TcpRecorder
) -> None:
    proxy = layer.open_proxy(echo.address, name="cli")
    proxy.add_toxic(Latency(latency=5))
    api.registry.adopt(proxy)
    shown = call(api, "GET", "/proxies/cli").json()
    assert shown["listen"] == proxy.listen.hostport
    assert [t["name"] for t in shown["toxics"]] == ["latency_downstream"]
    patched = call(
        api, "PATCH", "/proxies/cli/toxics/latency_downstream", {"attributes": {"latency": 9}}
    )
    assert patched.json()["attributes"] == {"latency": 9, "jitter": 0}
    assert proxy.toxics() == [Latency(latency=9)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[", "is not JSON: unexpected EOF"),
        ('{"name": "a"}', "cannot unmarshal object"),
        ('[{"name": "a"}]', "missing required field: upstream at proxy 1"),
        ('[{"name": "a", "upstream": "x", "listen": "local373"}]', "missing port in address"),
    ],
)
def test_a_bad_config_file_is_a_usage_error_that_says_why(
    api: ToxiproxyApi, tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "toxiproxy.json"
    config.write_text(content)
    with pytest.raises(UsageError, match=message):
        api.populate_file(config)
    with pytest.raises(UsageError, match="cannot read --config"):
        api.populate_file(tmp_path / "missing.json")
