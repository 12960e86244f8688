"""Real servers close the connections their clients reset (harness/release.py).

redis closes each at once. nginx 1.22 keeps one reset right after a chunked
POST's headers until its client_body_timeout (60 s): its edge-triggered epoll
missed the reset, and the socket is still armed in that epoll set, so it is not
blamed as a leak. A campaign that starts nginx itself (--start, so that its
processes are seen) passes `reset`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from peers_support import (
    describe,
    fuzz,
    need_binary,
    nginx_command,
    nginx_pid,
    redis_pid,
    running,
)

from wirefault.addresses import Address
from wirefault.codecs.base import Codec
from wirefault.codecs.http import HttpCodec
from wirefault.codecs.resp import RespCodec
from wirefault.properties import get_property
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Abort, Close, Expect, Open, Scenario, Send
from wirefault.server_activity import ServerActivity
from wirefault.transcript import Transcript

pytestmark = [
    pytest.mark.usefixtures("needs_sock_diag"),
    pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)"),
]

HTTP = HttpCodec()
RESP = RespCodec()
CHUNKED_POST = b"POST / HTTP/1.1\r\nHost: wirefault\r\nTransfer-Encoding: chunked\r\n\r\n"
GET = b"GET / HTTP/1.1\r\nHost: wirefault\r\n\r\n"
PING = b"*1\r\n$4\r\nPING\r\n"


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Address, int]]:
    """nginx with a minimal configuration in a temporary prefix, and its master's pid."""
    binary = need_binary("nginx", "nginx")
    workdir = tmp_path_factory.mktemp("nginx")
    command, address = nginx_command(binary, workdir)
    with running(command, address, lambda _: nginx_pid(workdir)) as started:
        yield started, nginx_pid(workdir)


def reset_then_probe(sent: bytes, probe: bytes) -> Scenario:
    """c0 sends ``sent`` and resets; c1 sends the probe and reads its reply."""
    steps = (
        Open(conn=0),
        *((Send(conn=0, chunks=(sent,)),) if sent else ()),
        Abort(conn=0),
        Send(conn=1, chunks=(probe,)),
        Expect(conn=1, count=1),
        Close(conn=1),
    )
    return Scenario(steps=steps)


def play(address: Address, pid: int, codec: Codec, scenario: Scenario) -> Transcript:
    """Play with the release check on the processes of ``pid`` (and its descendants)."""
    options = RunnerOptions(deadline=2.0, holder=ServerActivity(pid))
    transcript = Runner(address, codec, options=options).play(scenario)
    assert transcript.expects[-1].outcome == "ok", transcript.to_json()
    return transcript


@pytest.mark.parametrize("cut", [0, 1, 5, len(PING)])
def test_redis_closes_every_connection_reset_at_any_byte(redis: Address, cut: int) -> None:
    scenario = reset_then_probe(PING[:cut], PING)
    transcript = play(redis, redis_pid(redis), RESP, scenario)
    assert transcript.conn(0).release == "released"
    assert get_property("reset").judge(scenario, transcript, RESP).ok


def test_nginx_still_watches_a_connection_reset_after_a_chunked_posts_headers(
    nginx: tuple[Address, int],
) -> None:
    address, master = nginx
    scenario = reset_then_probe(CHUNKED_POST, GET)
    found = [play(address, master, HTTP, scenario).conn(0) for _ in range(3)]
    # Open in nginx's worker, idle, but armed in its epoll set: not a leak.
    assert {record.release for record in found} <= {"polled", "released"}
    assert "polled" in {record.release for record in found}
    for record in found:
        assert record.release_after < 1.0  # nothing to wait for once it is seen polled


def test_nginx_closes_a_connection_reset_in_its_request_line(nginx: tuple[Address, int]) -> None:
    address, master = nginx
    for cut in (0, 3, 20):
        transcript = play(address, master, HTTP, reset_then_probe(GET[:cut], GET))
        assert transcript.conn(0).release == "released"


def test_a_campaign_that_starts_nginx_passes_reset(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    binary = need_binary("nginx", "nginx")
    workdir = tmp_path_factory.mktemp("nginx-started")
    command, address = nginx_command(binary, workdir)
    run = fuzz(
        address, "http", tmp_path, "--start", command, "--properties", "reset",
        "--max-examples", "150", "--seed", "3", "--backend", "none",
    )  # fmt: skip
    assert run.returncode == 0 and not run.failures, describe(run)
    assert run.summary["per_property"]["reset"]["examples"] >= 100, describe(run)
