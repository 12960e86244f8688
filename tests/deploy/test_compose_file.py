"""docker-compose.yml, checked without Docker: structure, names, ports and binds.

There is no Docker engine where the suite runs, so the file is parsed and
cross-checked against the code it depends on: the targets registry, the
``wirefault serve`` parser, the Toxiproxy version the install script builds,
the Toxiproxy API port the fault layer assumes, and the package list the
image must copy.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml  # in the dev extra

from wirefault.cli import build_parser
from wirefault.faults.toxiproxy_api import DEFAULT_PORT, parse_api_url
from wirefault.targets import REFERENCE, target_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # mypy, in the dev extra, brings tomli to 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy"
LOOPBACK = "127.0.0.1"


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    found = load_compose().get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml needs a services: mapping"
    return found


def server_services() -> dict[str, dict[str, Any]]:
    """The services that run ``wirefault serve``."""
    return {name: s for name, s in services().items() if s.get("command", [None])[0] == "serve"}


def toxiproxy_service() -> dict[str, Any]:
    found = [s for s in services().values() if str(s.get("image", "")).startswith(TOXIPROXY_IMAGE)]
    assert len(found) == 1, f"expected one service with image {TOXIPROXY_IMAGE}:TAG"
    return found[0]


def flag_value(command: list[str], *flags: str) -> str:
    """The value after the first of ``flags`` in ``command`` (``-f V`` or ``-f=V``)."""
    for i, word in enumerate(command):
        for flag in flags:
            if word == flag:
                return command[i + 1]
            if word.startswith(f"{flag}="):
                return word.split("=", 1)[1]
    raise AssertionError(f"{command} has none of {flags}")


def install_script_version() -> str:
    script = (ROOT / "scripts" / "install-toxiproxy.sh").read_text(encoding="utf-8")
    match = re.search(r'version="\$\{TOXIPROXY_VERSION:-([0-9.]+)\}"', script)
    assert match, "scripts/install-toxiproxy.sh no longer sets version=${TOXIPROXY_VERSION:-X}"
    return match.group(1)


def test_every_service_has_an_image_or_a_build_and_a_command_list() -> None:
    for name, service in services().items():
        assert "image" in service or "build" in service, f"service {name} has no image or build"
        command = service.get("command")
        assert isinstance(command, list), f"service {name}: command must be a list (exec form)"
        assert all(isinstance(word, str) for word in command), f"service {name}: {command}"


def test_builds_point_at_a_dockerfile_that_exists() -> None:
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            continue
        context = ROOT / build["context"]
        assert context.is_dir(), f"service {name}: build context {context} is missing"
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


def test_the_image_copies_every_package_the_project_ships() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    copied = {
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    }
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # Every source folder that package-dir maps into the `wirefault` namespace.
    packages = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    assert packages | {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    for source in copied:
        assert (ROOT / source).exists(), f"docker/Dockerfile copies {source}, which is missing"


def test_the_image_entrypoint_is_the_wirefault_command() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = [line for line in dockerfile.splitlines() if line.startswith("ENTRYPOINT ")]
    assert len(entrypoint) == 1
    assert json.loads(entrypoint[0].removeprefix("ENTRYPOINT ")) == ["wirefault"]


def test_every_served_name_is_a_target_and_every_reference_server_is_served() -> None:
    served = {service["command"][1] for service in server_services().values()}
    assert served <= set(target_names()), f"unknown targets: {served - set(target_names())}"
    assert set(REFERENCE) <= served, f"reference servers not composed: {set(REFERENCE) - served}"


def test_server_commands_parse_as_wirefault_serve_on_loopback() -> None:
    parser = build_parser()
    for name, service in server_services().items():
        args = parser.parse_args(service["command"])
        assert args.command == "serve"
        assert args.name == name, f"service {name} serves {args.name}: name them alike"
        assert args.host == LOOPBACK, f"service {name} binds {args.host}"
        assert args.port > 0, f"service {name} needs a fixed --port to be fuzzed at"


def test_ports_are_unique_across_services() -> None:
    ports = [int(flag_value(s["command"], "--port")) for s in server_services().values()]
    ports.append(int(flag_value(toxiproxy_service()["command"], "-port", "--port")))
    assert len(ports) == len(set(ports)), f"a port is used twice: {sorted(ports)}"


def test_every_service_is_on_the_host_network_and_publishes_nothing() -> None:
    # Host networking is what lets the containerised Toxiproxy dial servers the
    # tests start on the host's 127.0.0.1; "ports:" would publish on 0.0.0.0.
    for name, service in services().items():
        assert service.get("network_mode") == "host", f"service {name} is not on the host network"
        assert "ports" not in service, f"service {name} publishes ports"
        assert "networks" not in service, name


def test_toxiproxy_is_the_version_the_install_script_builds() -> None:
    image = toxiproxy_service()["image"]
    assert image == f"{TOXIPROXY_IMAGE}:{install_script_version()}"


def test_toxiproxy_api_binds_loopback_on_the_port_the_fault_layer_assumes() -> None:
    command = toxiproxy_service()["command"]
    assert flag_value(command, "-host", "--host") == LOOPBACK
    port = int(flag_value(command, "-port", "--port"))
    assert port == DEFAULT_PORT
    assert parse_api_url(f"http://{LOOPBACK}") == (LOOPBACK, port)


def proxy_server_service() -> dict[str, Any]:
    """The service that runs ``wirefault proxy-server``."""
    found = [s for s in services().values() if s.get("command", [None])[0] == "proxy-server"]
    assert len(found) == 1, "expected one service running wirefault proxy-server"
    return found[0]


def test_the_proxy_server_parses_as_wirefault_proxy_server_on_the_toxiproxy_api_address() -> None:
    # An alternative to the official image: the same API on the same loopback address.
    args = build_parser().parse_args(proxy_server_service()["command"])
    assert args.command == "proxy-server"
    toxiproxy = toxiproxy_service()["command"]
    assert args.host == flag_value(toxiproxy, "-host", "--host") == LOOPBACK
    assert args.port == int(flag_value(toxiproxy, "-port", "--port")) == DEFAULT_PORT


def test_the_proxy_server_starts_only_when_asked_for_instead_of_toxiproxy() -> None:
    # Both want 127.0.0.1:8474: the alternative has a profile, the default set does not.
    assert proxy_server_service().get("profiles"), "proxy-server needs a profile"
    assert not toxiproxy_service().get("profiles")
    served = [int(flag_value(s["command"], "--port")) for s in server_services().values()]
    assert DEFAULT_PORT not in served
    text = COMPOSE.read_text(encoding="utf-8")
    profile = proxy_server_service()["profiles"][0]
    assert f"docker compose --profile {profile} up -d proxy-server" in text


def test_the_proxy_server_runs_the_image_that_ships_wirefault() -> None:
    service = proxy_server_service()
    assert service.get("build", {}).get("dockerfile") == "docker/Dockerfile"
    assert service.get("network_mode") == "host"


def test_the_documented_toxiproxy_url_matches_the_composed_api() -> None:
    port = flag_value(toxiproxy_service()["command"], "-port", "--port")
    url = f"TOXIPROXY_URL=http://{LOOPBACK}:{port}"
    assert url in (ROOT / "docs" / "PLUGIN.md").read_text(encoding="utf-8")
    assert url in COMPOSE.read_text(encoding="utf-8")
