"""The Toxiproxy backend's own duties: the server process it starts, proxy names, refusals.

Toxic behaviour on the wire is judged in tests/conformance (against both backends);
here are the parts only this backend has. Fake ``toxiproxy-server`` scripts stand
in where a real server cannot misbehave on demand.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _toxiproxy_fakes import child_pids, fake_binary, need_toxiproxy_binary

from wirefault._processes import group_running
from wirefault.addresses import Address
from wirefault.errors import FaultLayerError, UsageError
from wirefault.faults.toxics import Corrupt, Latency, Slicer, Split, Toxic
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer, unique_proxy_name
from wirefault.faults.toxiproxy_server import ToxiproxyServer, find_server_binary

UPSTREAM = Address("tcp", "127.0.0.1", 9)  # dialled only when a client connects


@pytest.fixture(scope="module")
def layer() -> Iterator[ToxiproxyFaultLayer]:
    """A layer with its own server, shared by this module's tests."""
    need_toxiproxy_binary()
    with ToxiproxyFaultLayer.start() as started:
        yield started


# -- the server process ----------------------------------------------------------------------


def test_started_server_answers_logs_and_stops() -> None:
    need_toxiproxy_binary()
    server = ToxiproxyServer.start()
    try:
        assert server.running()
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert "Starting Toxiproxy" in server.log_tail()
    finally:
        server.stop()
    assert not server.running()
    assert not server.log_path.exists()
    server.stop()  # idempotent


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOXIPROXY_SERVER", "/nonexistent/toxiproxy-server")
    assert find_server_binary() is None
    with pytest.raises(FaultLayerError, match=r"go install github\.com/Shopify/toxiproxy"):
        ToxiproxyServer.start()


def test_toxiproxy_server_env_var_names_the_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = fake_binary(tmp_path, "exit 0")
    monkeypatch.setenv("TOXIPROXY_SERVER", script)
    assert find_server_binary() == script


def test_a_server_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    script = fake_binary(tmp_path, "echo 'flag provided but not defined' >&2; exit 3")
    with pytest.raises(FaultLayerError, match=r"exited with status 3.*flag provided"):
        ToxiproxyServer.start(script)


def test_a_server_that_never_answers_is_stopped(tmp_path: Path) -> None:
    before = set(child_pids())
    script = fake_binary(tmp_path, "exec sleep 30")
    with pytest.raises(FaultLayerError, match=r"did not answer GET .*/version within 0\.3 s"):
        ToxiproxyServer.start(script, timeout=0.3)
    assert set(child_pids()) <= before


def test_a_ctrl_c_while_it_starts_stops_it_not_loses_it(
    tmp_path: Path, interrupted_popen: list[int]
) -> None:
    script = fake_binary(tmp_path, "exec sleep 30")
    with pytest.raises(KeyboardInterrupt):
        ToxiproxyServer.start(script)
    assert len(interrupted_popen) == 1
    assert not group_running(interrupted_popen[0])


def test_a_taken_port_is_retried_then_reported(tmp_path: Path) -> None:
    # Toxiproxy does not exit when its API port is taken; it logs this line and idles.
    before = set(child_pids())
    script = fake_binary(tmp_path, "echo 'Server finished with error'; exec sleep 30")
    with pytest.raises(FaultLayerError, match="could not bind a free port"):
        ToxiproxyServer.start(script)
    assert set(child_pids()) <= before


def test_atexit_stops_a_server_its_owner_forgot() -> None:
    need_toxiproxy_binary()
    code = (
        "from wirefault.faults.toxiproxy_server import ToxiproxyServer\n"
        "print(ToxiproxyServer.start().pid, flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    pid = int(result.stdout.strip())
    assert not Path(f"/proc/{pid}").exists(), f"toxiproxy-server {pid} outlived its owner"


# -- the layer ---------------------------------------------------------------------------------


def test_proxy_names_are_unique_per_worker_and_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")
    first, second = unique_proxy_name(), unique_proxy_name()
    assert first != second
    assert first.startswith(f"wirefault-gw7-{os.getpid()}-")


def test_open_proxy_reads_back_the_real_port(layer: ToxiproxyFaultLayer) -> None:
    proxy = layer.open_proxy(UPSTREAM)
    try:
        on_server = layer.client.request("GET", f"/proxies/{proxy.name}")
        assert isinstance(on_server, dict)
        assert on_server["listen"] == proxy.listen.hostport
        assert on_server["upstream"] == "127.0.0.1:9"
        assert proxy.listen.port > 0
    finally:
        proxy.close()


def test_an_explicit_listen_address_is_used(layer: ToxiproxyFaultLayer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = layer.open_proxy(UPSTREAM, listen=Address("tcp", "127.0.0.1", port))
    try:
        assert proxy.listen == Address("tcp", "127.0.0.1", port)
    finally:
        proxy.close()


def test_a_name_in_use_is_refused(layer: ToxiproxyFaultLayer) -> None:
    proxy = layer.open_proxy(UPSTREAM, name=unique_proxy_name("taken"))
    try:
        with pytest.raises(FaultLayerError, match="already has a proxy named"):
            layer.open_proxy(UPSTREAM, name=proxy.name)
    finally:
        proxy.close()


@pytest.mark.parametrize(
    "upstream", [Address("udp", "127.0.0.1", 9), Address("unix", path="/tmp/x.sock")]
)
def test_udp_and_unix_upstreams_are_refused(layer: ToxiproxyFaultLayer, upstream: Address) -> None:
    with pytest.raises(FaultLayerError, match="use --backend embedded"):
        layer.open_proxy(upstream)


@pytest.mark.parametrize(
    "toxic",
    [
        Split(offsets=(1,)),
        Corrupt(offsets=(0,)),
        Slicer(average_size=4, seed=1),
        Latency(latency=5, connection=0),
    ],
    ids=["split", "corrupt", "seed", "connection"],
)
def test_embedded_only_toxics_are_refused(layer: ToxiproxyFaultLayer, toxic: Toxic) -> None:
    proxy = layer.open_proxy(UPSTREAM)
    try:
        with pytest.raises(FaultLayerError, match="use --backend embedded"):
            proxy.add_toxic(toxic)
        assert not layer.supports(toxic)
        assert proxy.toxics() == []
    finally:
        proxy.close()


def test_toxics_reach_the_server_as_toxiproxy_json(layer: ToxiproxyFaultLayer) -> None:
    proxy = layer.open_proxy(UPSTREAM)
    try:
        proxy.add_toxic(Latency(latency=50, jitter=5, stream="upstream", toxicity=0.5))
        on_server = layer.client.request("GET", f"/proxies/{proxy.name}/toxics")
        assert isinstance(on_server, list)
        assert on_server[0] == {
            "name": "latency_upstream",
            "type": "latency",
            "stream": "upstream",
            "toxicity": 0.5,
            "attributes": {"latency": 50, "jitter": 5},
        }
    finally:
        proxy.close()


def test_disable_and_enable_patch_the_proxy(layer: ToxiproxyFaultLayer) -> None:
    proxy = layer.open_proxy(UPSTREAM)
    try:
        proxy.disable()
        state = layer.client.request("GET", f"/proxies/{proxy.name}")
        assert isinstance(state, dict)
        assert state["enabled"] is False
        proxy.enable()
        state = layer.client.request("GET", f"/proxies/{proxy.name}")
        assert isinstance(state, dict)
        assert state["enabled"] is True
    finally:
        proxy.close()


def test_closing_a_proxy_deleted_elsewhere_is_fine(layer: ToxiproxyFaultLayer) -> None:
    proxy = layer.open_proxy(UPSTREAM)
    layer.client.request("DELETE", f"/proxies/{proxy.name}")
    proxy.close()
    proxy.close()
    assert proxy not in layer.proxies()


def test_two_layers_in_one_process_keep_to_their_own_server(layer: ToxiproxyFaultLayer) -> None:
    with ToxiproxyFaultLayer.start() as other:
        assert other.url != layer.url
        mine = other.open_proxy(UPSTREAM)
        on_first = layer.client.request("GET", "/proxies")
        on_other = other.client.request("GET", "/proxies")
        assert isinstance(on_first, dict)
        assert isinstance(on_other, dict)
        assert mine.name in on_other
        assert mine.name not in on_first


def test_a_closed_layer_opens_nothing() -> None:
    need_toxiproxy_binary()
    started = ToxiproxyFaultLayer.start()
    started.close()
    started.close()  # idempotent
    with pytest.raises(FaultLayerError, match="closed"):
        started.open_proxy(UPSTREAM)


def test_a_dead_server_is_reported_with_its_log() -> None:
    need_toxiproxy_binary()
    with ToxiproxyFaultLayer.start() as started:
        assert started.server is not None
        started.server.process.kill()
        started.server.process.wait()
        with pytest.raises(FaultLayerError, match="its log ends"):
            started.open_proxy(UPSTREAM)


def test_connect_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    with pytest.raises(UsageError, match="TOXIPROXY_URL"):
        ToxiproxyFaultLayer.connect()


def test_connect_checks_the_server_answers() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FaultLayerError, match="cannot reach Toxiproxy"):
        ToxiproxyFaultLayer.connect(f"http://127.0.0.1:{port}")


def test_connect_uses_a_running_server(layer: ToxiproxyFaultLayer) -> None:
    with ToxiproxyFaultLayer.connect(layer.url) as borrowed:
        assert borrowed.server is None
        proxy = borrowed.open_proxy(UPSTREAM)
        assert proxy.listen.port > 0
    on_server = layer.client.request("GET", "/proxies")
    assert isinstance(on_server, dict)
    assert proxy.name not in on_server
