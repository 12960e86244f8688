"""Toxiproxy's HTTP API, on the real toxiproxy-server 2.12 and on ``wirefault proxy-server``.

The same requests go to both servers and must get the same answers: status,
content type and body (listen ports aside). The clients people use — the
unmodified toxiproxy-python and toxiproxy-cli — are then driven step for step
against each server in turn, and the traffic through the proxies they make is
checked too. Where wirefault differs on purpose (``/version``, a proxy made
without a listen address), the test says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from _api_support import Answer, ApiClient, ProxyServer, api_client
from _conformance_support import (
    DEADLINE,
    EchoServer,
    connect,
    eventually,
    need_toxiproxy,
    read_to_end,
    recv_exactly,
    round_trip,
)
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from wirefault.addresses import Address
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer

SERVERS = ("toxiproxy-server", "proxy-server")
_PORT = re.compile(r"(?<=127\.0\.0\.1:)[1-9][0-9]*")


@pytest.fixture(params=SERVERS)
def api(request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """Each API server in turn; the proxies a test makes are deleted after it."""
    url = _url_of(request, request.param)
    with api_client(url) as client:
        yield client


def _url_of(request: pytest.FixtureRequest, server: str) -> str:
    if server == "toxiproxy-server":
        layer: ToxiproxyFaultLayer = request.getfixturevalue("toxiproxy_layer")
        return layer.url
    proxy_server: ProxyServer = request.getfixturevalue("proxy_server")
    return proxy_server.url


def normalized(answer: Answer) -> tuple[int, str | None, str]:
    """An answer with the ports of listen addresses left out (each server picks its own)."""
    return answer.status, answer.content_type, _PORT.sub("PORT", answer.text)


# -- the same answers, request for request --------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request of the script; ``{a}`` in the body is the port proxy ``a`` listens on."""

    method: str
    path: str
    body: str | None = None


#: One request per line: METHOD PATH [BODY] (<empty> for an empty body). Malformed bodies
#: on purpose: the error answers must match too.
SCRIPT_TEXT = """
GET /proxies
POST /proxies {}
POST /proxies {"name": "a"}
POST /proxies {
POST /proxies <empty>
POST /proxies {"name": 5, "upstream": "x"}
POST /proxies {"name": "a", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}
POST /proxies {"name": "a", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}
POST /proxies {"name": "b", "upstream": "x", "listen": "127.0.0.1:{a}"}
POST /proxies {"name": "c", "upstream": "x", "listen": "local373"}
POST /proxies {"name": "c", "upstream": "x", "listen": "127.0.0.1:99999"}
POST /proxies {"NAME": "d", "UPSTREAM": "x", "listen": "localhost:0"}
POST /proxies {"name": "e", "upstream": "x", "listen": "localhost:0", "enabled": false}
POST /proxies {"name": "f", "upstream": "x", "listen": "127.0.0.1:0"} tail
GET /proxies/a
GET /proxies/zz
POST /proxies/a/toxics {"type": "latency", "attributes": {"latency": 100}}
POST /proxies/a/toxics {"type": "latency", "attributes": {"latency": 100}}
POST /proxies/a/toxics {"type": "nope"}
POST /proxies/a/toxics {"type": "split"}
POST /proxies/a/toxics {"type": "latency", "stream": "walrus"}
POST /proxies/a/toxics {"type": "latency", "stream": "UpStream", "name": "up"}
POST /proxies/a/toxics {"type": "latency", "name": "x", "attributes": {"latency": 1.5}}
POST /proxies/a/toxics {"type": "latency", "name": "x", "attributes": {"latency": "100"}}
POST /proxies/a/toxics {"type": "latency", "name": "x", "attributes": [1]}
POST /proxies/a/toxics {"type": "latency", "name": "x", "toxicity": "1"}
POST /proxies/a/toxics {"type": "latency", "name": "neg", "toxicity": 2, "attributes": {"latency": -5, "x": 1}}
POST /proxies/a/toxics {"type": "latency", "name": "f32", "toxicity": 0.1234567891, "attributes": null}
POST /proxies/a/toxics {"type": "slicer", "name": "sl", "attributes": {"average_size": 10}}
POST /proxies/a/toxics {"type": "noop", "name": ""}
POST /proxies/a/toxics {"type": "bandwidth", "name": "bw", "stream": "upstream", "attributes": {"RATE": 5}}
POST /proxies/zz/toxics {"type": "latency"}
GET /proxies/a/toxics
GET /proxies/a/toxics/latency_downstream
GET /proxies/a/toxics/nope
PATCH /proxies/a/toxics/latency_downstream {"attributes": {"jitter": 5}, "toxicity": 0.5}
PATCH /proxies/a/toxics/latency_downstream {"type": "bandwidth", "stream": "upstream", "name": "zz"}
PATCH /proxies/a/toxics/latency_downstream {"attributes": {"jitter": "x"}}
PATCH /proxies/a/toxics/latency_downstream {"toxicity": "y", "attributes": {"latency": "x"}}
PATCH /proxies/a/toxics/latency_downstream []
PATCH /proxies/a/toxics/nope {"attributes": {}}
POST /proxies/a/toxics/latency_downstream {"attributes": {"latency": 7}}
DELETE /proxies/a/toxics/neg
DELETE /proxies/a/toxics/neg
GET /proxies
PATCH /proxies/a {"enabled": false}
PATCH /proxies/a {"enabled": true}
PATCH /proxies/a {"upstream": "127.0.0.1:10"}
PATCH /proxies/a {"listen": "bad"}
PATCH /proxies/a {"enabled": "x"}
PATCH /proxies/a 5
PATCH /proxies/zz {}
POST /proxies/a {"enabled": false}
POST /reset
GET /proxies/a
POST /populate [{"name": "p1", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}, {"name": "p2", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0", "enabled": false}]
POST /populate [{"name": "p3", "upstream": "x"}, {"name": "", "upstream": "x"}]
POST /populate {}
POST /populate [{"name": 5}]
POST /populate [{"name": "q", "upstream": "x", "listen": "127.0.0.1:0"}, {"name": "r", "upstream": "x", "listen": "local373"}]
POST /populate []
POST /populate null
GET /proxies
DELETE /proxies/a
DELETE /proxies/a
GET /nonexistent
GET /proxies/
PUT /proxies
DELETE /reset
HEAD /version
"""  # noqa: E501 - one request per line reads best


def _steps(text: str) -> tuple[Step, ...]:
    steps = []
    for line in filter(None, text.splitlines()):
        method, path, *rest = line.split(" ", 2)
        body = rest[0] if rest else None
        steps.append(Step(method, path, "" if body == "<empty>" else body))
    return tuple(steps)


SCRIPT = _steps(SCRIPT_TEXT)


def play(client: ApiClient) -> list[tuple[int, str | None, str]]:
    """The normalized answers of :data:`SCRIPT` on one server."""
    answers, ports = [], {}
    for step in SCRIPT:
        body = step.body.replace("{a}", ports.get("a", "0")) if step.body else step.body
        answer = client.call(step.method, step.path, body)
        if step.path == "/proxies" and step.method == "POST" and answer.status == 201:
            created = answer.json()
            assert isinstance(created, dict)
            ports[created["name"]] = created["listen"].rsplit(":", 1)[1]
        answers.append(normalized(answer))
    return answers


def test_both_servers_answer_every_request_alike(request: pytest.FixtureRequest) -> None:
    need_toxiproxy()
    with (
        api_client(_url_of(request, "toxiproxy-server")) as real,
        api_client(_url_of(request, "proxy-server")) as ours,
    ):
        expected, got = play(real), play(ours)
    for step, want, have in zip(SCRIPT, expected, got, strict=True):
        assert have == want, f"{step.method} {step.path} {step.body}"


def test_browsers_are_refused_and_other_clients_served(api: ApiClient) -> None:
    refused = api.call("GET", "/proxies", user_agent="Mozilla/5.0 (X11; Linux x86_64)")
    assert (refused.status, refused.text) == (403, "User agent not allowed\n")
    assert api.call("GET", "/proxies", user_agent="curl/8.0").status == 200
    # An unknown path is a 404 before the browser check, as in gorilla/mux.
    assert api.call("GET", "/nope", user_agent="Mozilla/5.0").status == 404


def test_version_names_the_api(api: ApiClient) -> None:
    answer = api.call("GET", "/version")
    assert answer.status == 200
    assert answer.content_type == "application/json;charset=utf-8"
    version = answer.json()
    assert isinstance(version, dict)
    # Deliberate difference: wirefault says it serves 2.12.0's API, with its own version
    # as semver build metadata ("2.12.0+wirefault.0.1.0"), which compares equal to 2.12.0.
    assert str(version["version"]).split("+")[0] == "2.12.0"


# -- enabled, as Toxiproxy means it ------------------------------------------------------------


def test_disabling_closes_the_listener_and_drops_connections_and_enabling_reopens_it(
    api: ApiClient, echo: EchoServer
) -> None:
    body = f'{{"name": "d", "upstream": "{echo.address.hostport}", "listen": "127.0.0.1:0"}}'
    created = api.call("POST", "/proxies", body).json()
    assert isinstance(created, dict)
    host, port = created["listen"].rsplit(":", 1)
    listen = Address("tcp", host, int(port))
    with connect(listen) as live:
        live.sendall(b"x")
        assert recv_exactly(live, 1) == b"x"
        assert api.call("PATCH", "/proxies/d", '{"enabled": false}').status == 200
        data, _end = read_to_end(live)
        assert data == b""
    with pytest.raises(ConnectionRefusedError):
        connect(listen, timeout=2.0).close()
    shown = api.call("PATCH", "/proxies/d", '{"enabled": true}').json()
    assert isinstance(shown, dict)
    assert shown["listen"] == created["listen"]  # the same address again
    assert round_trip(listen, b"back")[0] == b"back"


def test_an_updated_latency_releases_what_the_old_one_held(
    api: ApiClient, echo: EchoServer
) -> None:
    body = f'{{"name": "l", "upstream": "{echo.address.hostport}", "listen": "127.0.0.1:0"}}'
    created = api.call("POST", "/proxies", body).json()
    assert isinstance(created, dict)
    host, port = created["listen"].rsplit(":", 1)
    toxic = '{"type": "latency", "attributes": {"latency": 600000}}'
    assert api.call("POST", "/proxies/l/toxics", toxic).status == 200
    with connect(Address("tcp", host, int(port))) as sock:
        sock.sendall(b"held")
        update = '{"attributes": {"latency": 0}}'
        assert eventually(lambda: echo.connection(0).data == b"held")  # its echo is held
        assert api.call("PATCH", "/proxies/l/toxics/latency_downstream", update).status == 200
        assert recv_exactly(sock, 4) == b"held"


# -- the unmodified clients, step for step ------------------------------------------------------


@pytest.fixture
def toxiproxy_python(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> Toxiproxy:
    """toxiproxy-python pointed at ``api`` (its host and port are class attributes)."""
    host, port = api.url.removeprefix("http://").rsplit(":", 1)
    monkeypatch.setattr(APIConsumer, "host", host)
    monkeypatch.setattr(APIConsumer, "port", int(port))
    return Toxiproxy()


def test_toxiproxy_python_drives_the_server(toxiproxy_python: Toxiproxy, echo: EchoServer) -> None:
    client = toxiproxy_python
    assert client.running()
    assert client.version().startswith(b'{"version": "2.12.0')
    proxy = client.create(upstream=echo.address.hostport, name="py")
    with pytest.raises(ProxyExists):
        client.create(upstream=echo.address.hostport, name="py")
    assert set(client.proxies()) == {"py"}
    listen = Address("tcp", *_split(proxy.listen))
    assert round_trip(listen, b"plain")[0] == b"plain"

    proxy.add_toxic(type="latency", attributes={"latency": 300})
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="nope", name="bad")
    toxic = proxy.get_toxic("latency_downstream")
    assert toxic is not None and toxic.attributes == {"latency": 300, "jitter": 0}
    echoed, seconds = round_trip(listen, b"slow")
    assert echoed == b"slow" and seconds >= 0.28

    with proxy.down(), pytest.raises(ConnectionRefusedError):
        connect(listen, timeout=2.0).close()
    assert proxy.destroy_toxic("latency_downstream")
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")
    echoed, seconds = round_trip(listen, b"fast again")
    assert echoed == b"fast again" and seconds < 0.25

    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    assert client.reset()
    assert proxy.toxics() == {}
    assert client.populate([{"name": "py2", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}])
    client.destroy_all()
    assert client.proxies() == {}


def _split(hostport: str) -> tuple[str, int]:
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def _cli() -> str:
    found = shutil.which("toxiproxy-cli")
    if found is None:
        reason = "toxiproxy-cli not found (scripts/install-toxiproxy.sh installs it)"
        if os.environ.get("WIREFAULT_REQUIRE_TOXIPROXY") == "1":
            pytest.fail(f"WIREFAULT_REQUIRE_TOXIPROXY=1 but {reason}")
        pytest.skip(reason)
    return found


#: toxiproxy-cli commands (after ``-h HOST:PORT``), played on both servers.
CLI_SCRIPT = (
    ["create", "-l", "127.0.0.1:0", "-u", "{echo}", "cli"],
    ["create", "-l", "127.0.0.1:0", "-u", "{echo}", "cli"],
    ["list"],
    ["toxic", "add", "-t", "latency", "-a", "latency=300", "-a", "jitter=5", "cli"],
    ["toxic", "add", "-n", "slow", "-t", "bandwidth", "-u", "--tox", "0.5", "-a", "rate=10", "cli"],
    ["toxic", "add", "-t", "nope", "cli"],
    ["toxic", "update", "-n", "latency_downstream", "-a", "latency=350", "cli"],
    ["inspect", "cli"],
    ["toggle", "cli"],
    ["list"],
    ["toggle", "cli"],
    ["toxic", "remove", "-n", "slow", "cli"],
    ["toxic", "remove", "-n", "slow", "cli"],
    ["inspect", "nope"],
)


def _run_cli(binary: str, url: str, args: list[str], echo: EchoServer) -> tuple[int, str]:
    argv = [binary, "-h", url.removeprefix("http://")]
    argv += [a.replace("{echo}", echo.address.hostport) for a in args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE * 2, check=False)
    return done.returncode, _PORT.sub("PORT", done.stdout + done.stderr)


def test_toxiproxy_cli_gets_the_same_answers_from_both_servers(
    request: pytest.FixtureRequest, echo: EchoServer
) -> None:
    need_toxiproxy()
    binary = _cli()
    transcripts = []
    for server in SERVERS:
        url = _url_of(request, server)
        with api_client(url) as client:
            transcripts.append([_run_cli(binary, url, args, echo) for args in CLI_SCRIPT])
            shown = client.call("GET", "/proxies/cli").json()
            assert isinstance(shown, dict)
            listen = Address("tcp", *_split(shown["listen"]))
            echoed, seconds = round_trip(listen, b"via cli")  # the toxic the cli set, at work
            assert echoed == b"via cli" and seconds >= 0.3, server
            assert _run_cli(binary, url, ["delete", "cli"], echo) == (0, "Deleted proxy cli\n")
    real, ours = transcripts
    for args, want, have in zip(CLI_SCRIPT, real, ours, strict=True):
        assert have == want, " ".join(args)
