"""``wirefault proxy-server`` and ``wirefault proxy --api`` driven as commands (subprocesses)."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from _api_support import ApiClient, ProxyServer, WirefaultCommand
from _conformance_support import (
    EchoServer,
    connect,
    eventually,
    pid_alive,
    round_trip,
)

from wirefault.addresses import Address
from wirefault.cli import build_parser
from wirefault.errors import FaultLayerError, UsageError


@pytest.fixture
def commands() -> Iterator[list[WirefaultCommand]]:
    """Commands a test starts; every one is stopped after it."""
    started: list[WirefaultCommand] = []
    yield started
    for command in started:
        command.close()


def _address(text: str) -> Address:
    host, port = text.rsplit(":", 1)
    return Address("tcp", host, int(port))


def test_proxy_server_serves_its_config_and_stops_on_sigterm_leaving_nothing(
    tmp_path: Path, echo: EchoServer, commands: list[WirefaultCommand]
) -> None:
    config = tmp_path / "toxiproxy.json"
    proxies = [
        {"name": "echo", "listen": "127.0.0.1:0", "upstream": echo.address.hostport},
        {"name": "spare", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9", "enabled": False},
    ]
    config.write_text(json.dumps(proxies))
    server = ProxyServer("-config", str(config))  # toxiproxy-server's spelling works too
    commands.append(server)
    line = server.readline()
    assert line.startswith("proxy echo: 127.0.0.1:") and line.endswith(
        f"-> {echo.address.hostport}"
    )
    assert server.readline() == "proxy spare: 127.0.0.1:0 -> 127.0.0.1:9"
    listen = _address(line.split()[2])
    assert round_trip(listen, b"configured")[0] == b"configured"
    api_port = int(server.url.rsplit(":", 1)[1])
    status, err = server.stop(signal.SIGTERM)
    assert status == 130, err
    assert err == ""
    for port in (api_port, listen.port):  # the API and the proxies are closed
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2.0).close()
    assert eventually(lambda: not pid_alive(server.pid))


@pytest.mark.slow  # a process of its own for one signal; SIGTERM takes the same path above
def test_proxy_server_exits_130_on_sigint(commands: list[WirefaultCommand]) -> None:
    server = ProxyServer()
    commands.append(server)
    status, err = server.stop(signal.SIGINT)
    assert status == 130, err


def test_proxy_server_rejects_a_bad_port_as_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["proxy-server", "--port", "70000"])
    assert exited.value.code == 2
    assert "expected a port in 0..65535" in capsys.readouterr().err


def test_proxy_server_with_an_unreadable_config_is_a_usage_error(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["proxy-server", "--port", "0", "--config", str(tmp_path / "missing.json")]
    )
    with pytest.raises(UsageError, match="cannot read --config"):
        args.func(args)


def test_proxy_server_on_a_taken_port_is_a_setup_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        args = build_parser().parse_args(["proxy-server", "--port", port])
        with pytest.raises(FaultLayerError, match="cannot serve the Toxiproxy API") as raised:
            args.func(args)
    assert raised.value.exit_status == 2
    assert "\n" not in str(raised.value)


def test_proxy_api_changes_the_toxics_of_a_running_proxy(
    echo: EchoServer, commands: list[WirefaultCommand]
) -> None:
    command = WirefaultCommand(
        "proxy", "--upstream", echo.address.hostport, "--api", "127.0.0.1:0",
        "--toxic", "latency:latency=0",
    )  # fmt: skip
    commands.append(command)
    listen = _address(command.readline().split()[2])
    assert command.readline().startswith("toxic latency_downstream:")
    api_line = command.readline()
    assert api_line.startswith("api on http://127.0.0.1:") and api_line.endswith(
        "(proxy wirefault)"
    )
    api = ApiClient(api_line.split()[2])
    try:
        shown = api.call("GET", "/proxies/wirefault").json()
        assert isinstance(shown, dict) and shown["listen"] == listen.hostport
        patch = '{"attributes": {"latency": 300}}'
        assert (
            api.call("PATCH", "/proxies/wirefault/toxics/latency_downstream", patch).status == 200
        )
        echoed, seconds = round_trip(listen, b"slower now")
        assert echoed == b"slower now" and seconds >= 0.28
        assert api.call("POST", "/proxies/wirefault", '{"enabled": false}').status == 200
        with pytest.raises(ConnectionRefusedError):
            connect(listen, timeout=2.0).close()
    finally:
        api.close()
    _status, err = command.stop(signal.SIGTERM)  # its status is `wirefault proxy`'s own
    assert "Traceback" not in err


def test_proxy_api_refuses_the_toxiproxy_backend() -> None:
    args = build_parser().parse_args(
        ["proxy", "--upstream", "127.0.0.1:9", "--backend", "toxiproxy", "--api", "127.0.0.1:0"]
    )
    with pytest.raises(UsageError, match="--api serves the embedded proxy"):
        args.func(args)
