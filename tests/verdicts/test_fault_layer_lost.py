"""A slow fault-layer API is not a verdict: retried, then replaced or stopped at cleanly.

Toxiproxy answers DELETE /proxies/NAME only once its accept loop is free, and
that loop waits on its dial to the upstream: a server that serves one
connection at a time, with a full backlog, holds it for seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slow_toxiproxy import HANG_UP, SlowToxiproxy
from verdicts_support import campaign, server_command

from wirefault.addresses import Address
from wirefault.errors import FaultLayerError, FaultLayerUnavailable
from wirefault.fallback import DeletedAfterPlay
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import Latency
from wirefault.faults.toxiproxy import ToxiproxyFaultLayer
from wirefault.faults.toxiproxy_api import ToxiproxyClient
from wirefault.faults.toxiproxy_server import find_server_binary
from wirefault.target import ServerProcess

PROXY = '{"name": "p", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "enabled": true}'


@pytest.fixture
def slow() -> Iterator[Callable[..., SlowToxiproxy]]:
    fakes: list[SlowToxiproxy] = []

    def make(routes: dict[tuple[str, str], list[tuple[float, int, str]]]) -> SlowToxiproxy:
        fake = SlowToxiproxy(routes)
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.close()


def test_a_call_answered_too_late_is_retried_with_a_longer_bound(
    slow: Callable[..., SlowToxiproxy],
) -> None:
    fake = slow({("PATCH", "/proxies/p"): [(0.6, 200, PROXY), (0.0, 200, PROXY)]})
    client = ToxiproxyClient(fake.url, timeout=0.3, retry_factor=5)
    assert client.request("PATCH", "/proxies/p", {"enabled": False}) == json.loads(PROXY)
    assert fake.seen.count(("PATCH", "/proxies/p")) == 2


def test_a_delete_that_went_through_late_counts_as_done(
    slow: Callable[..., SlowToxiproxy],
) -> None:
    # The first DELETE is answered after the client gave up; the retry finds it gone.
    not_found = '{"error": "proxy not found", "status": 404}'
    fake = slow({("DELETE", "/proxies/p"): [(0.6, 204, ""), (0.0, 404, not_found)]})
    client = ToxiproxyClient(fake.url, timeout=0.3, retry_factor=5)
    assert client.request("DELETE", "/proxies/p") is None


def test_an_api_that_never_answers_in_time_is_unavailable_not_a_verdict(
    slow: Callable[..., SlowToxiproxy],
) -> None:
    fake = slow({("DELETE", "/proxies/p"): [(2.0, 204, "")]})
    client = ToxiproxyClient(fake.url, timeout=0.2, retry_factor=2)
    with pytest.raises(FaultLayerUnavailable, match=r"did not answer DELETE .* 0\.2 s or 0\.4 s"):
        client.request("DELETE", "/proxies/p")


def test_a_campaign_whose_toxiproxy_stops_answering_goes_on_with_the_embedded_layer(
    serve: Callable[..., ServerProcess], slow: Callable[..., SlowToxiproxy], tmp_path: Path
) -> None:
    fake = slow({("POST", "/proxies"): [(0.0, HANG_UP, "")]})
    server = serve("line-uncapped")
    with ToxiproxyFaultLayer.connect(fake.url, timeout=0.3) as layer:
        run = campaign(
            server,
            "line",
            tmp_path,
            "reassembly",
            fault_layer=layer,
            fallback=True,
            max_examples=15,
        )
        result = run.run()
    (outcome,) = result.results
    assert outcome.status == "passed", outcome.failure
    assert outcome.examples == 15
    (notice,) = [n for n in outcome.notes if "fault layer stopped answering" in n]
    assert "the rest of the campaign used the embedded fault layer" in notice
    assert run.fault_layer is not layer


def test_a_campaign_that_may_not_fall_back_stops_with_one_clear_error(
    serve: Callable[..., ServerProcess], slow: Callable[..., SlowToxiproxy], tmp_path: Path
) -> None:
    fake = slow({("POST", "/proxies"): [(0.0, HANG_UP, "")]})
    server = serve("line-uncapped")
    with ToxiproxyFaultLayer.connect(fake.url, timeout=0.3) as layer:
        run = campaign(server, "line", tmp_path, "reassembly", fault_layer=layer, max_examples=15)
        with pytest.raises(FaultLayerError, match="the campaign stops") as stopped:
            run.run()
    assert "\n" not in str(stopped.value)


@pytest.mark.parametrize(("backend", "status"), [("auto", 0), ("toxiproxy", 2)])
def test_the_command_falls_back_or_exits_2_never_a_traceback(
    slow: Callable[..., SlowToxiproxy], tmp_path: Path, backend: str, status: int
) -> None:
    fake = slow({("POST", "/proxies"): [(0.0, HANG_UP, "")]})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirefault",
            "fuzz",
            "tcp://127.0.0.1:0",
            "--codec",
            "line",
            "--start",
            server_command("line-uncapped"),
            *("--backend", backend, "--properties", "reassembly", "--max-examples", "10"),
            *("--seed", "1", "--json", "--out", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TOXIPROXY_URL": fake.url},
    )
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    if status == 2:
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("wirefault: error: cannot reach Toxiproxy")
        assert "the campaign stops" in line
    else:
        notes = [n["note"] for n in json.loads(done.stdout)["notes"]]
        assert any("used the embedded fault layer" in n for n in notes), notes


# -- the real Toxiproxy, in front of a server that serves one connection at a time ------------


def _need_toxiproxy() -> None:
    if find_server_binary() is not None:
        return
    reason = "toxiproxy-server not found (see docs: install it, or set TOXIPROXY_SERVER)"
    if os.environ.get("WIREFAULT_REQUIRE_TOXIPROXY") == "1":
        pytest.fail(f"WIREFAULT_REQUIRE_TOXIPROXY=1 but {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def _busy(server: ServerProcess) -> Iterator[Callable[[], None]]:
    """Keep the one-at-a-time server busy and its backlog full; yields the release."""
    address = (server.address.host, server.address.port)
    served = socket.create_connection(address)  # accepted: the server waits on it
    queued = socket.create_connection(address)  # in the backlog of one
    pending = socket.socket()  # its SYN is dropped: the backlog is full
    pending.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        pending.connect(address)
    held = [served, queued, pending]

    def release() -> None:
        for sock in held:
            sock.close()

    try:
        yield release
    finally:
        release()


@pytest.mark.toxiproxy
def test_a_delete_held_up_by_a_busy_one_connection_server_is_waited_out(
    serve: Callable[..., ServerProcess],
) -> None:
    _need_toxiproxy()
    server = serve("one-at-a-time")
    with ToxiproxyFaultLayer.start() as layer, _busy(server) as release:
        layer.client.timeout, layer.client.retry_factor = 1.0, 10.0
        proxy = layer.open_proxy(server.address)
        client = socket.create_connection((proxy.listen.host, proxy.listen.port))
        try:
            # Toxiproxy accepted the client and now dials the server, whose backlog is full.
            threading.Timer(1.5, release).start()
            began = time.monotonic()
            proxy.close()  # today's client gave up after its one bound: FaultLayerError
            took = time.monotonic() - began
        finally:
            client.close()
        assert took > 1.0  # the first attempt's bound was indeed exceeded
        assert not layer.proxies()


def test_toxics_of_a_proxy_deleted_after_the_play_are_left_to_the_delete() -> None:
    # Toxiproxy's toxic removal can stall for 5 s per held packet; the proxy goes anyway.
    with EmbeddedFaultLayer() as layer:
        proxy = DeletedAfterPlay(layer.open_proxy(Address("tcp", "127.0.0.1", 9)))
        proxy.add_toxic(Latency(latency=10))
        proxy.clear_toxics()
        assert [t.type for t in proxy.toxics()] == ["latency"]
        proxy.remove_toxic(proxy.toxics()[0].key)
        assert proxy.toxics() == []
        proxy.close()
