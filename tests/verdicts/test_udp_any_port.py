"""UDP replies from any port of the target's host are read, counted and noted.

TFTP-style servers answer each client from a fresh socket, so the reply comes
from another port than the one the request went to. wirefault's client sockets
(and the embedded proxy's upstream ones) are not connected, so they take it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from verdicts_support import server_command

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.toxics import Duplicate
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.target import ServerProcess, free_port

DATAGRAM = get_codec("datagram")
OPTIONS = RunnerOptions(deadline=0.5)
ONE = Scenario(steps=(Send(conn=0, chunks=(b"ping",)), Expect(conn=0, count=1), Close(conn=0)))


def test_a_reply_from_another_port_is_the_reply_and_its_port_is_noted(
    serve: Callable[..., ServerProcess],
) -> None:
    server = serve("udp-fresh-port", udp=True)
    transcript = Runner(server.address, DATAGRAM, options=OPTIONS).play(ONE)
    (result,) = transcript.expects
    assert result.outcome == "ok" and result.frames == (b"ping",)
    (received,) = [e for e in transcript.events if e.what == "recv"]
    port = int(received.detail.removeprefix("from port "))
    assert port != server.address.port
    assert not [e for e in transcript.events if e.what == "retry"]


def test_a_closed_port_is_still_seen_as_refused() -> None:
    address = Address("udp", "127.0.0.1", free_port(udp=True))
    transcript = Runner(address, DATAGRAM, options=OPTIONS).play(ONE)
    assert transcript.expects[0].outcome == "refused"


def test_the_embedded_proxy_forwards_a_reply_from_another_port(
    serve: Callable[..., ServerProcess],
) -> None:
    server = serve("udp-fresh-port", udp=True)
    faulty = Scenario(steps=ONE.steps, toxics=(Duplicate(probability=1.0, copies=1),))
    with EmbeddedFaultLayer() as layer:
        proxy = layer.open_proxy(server.address)
        runner = Runner(server.address, DATAGRAM, options=OPTIONS, proxy=proxy)
        transcript = runner.play(faulty)
    assert transcript.expects[0].outcome == "ok"
    assert transcript.expects[0].frames[0] == b"ping"


def test_a_crash_on_a_one_byte_datagram_is_found(tmp_path: Path) -> None:
    # Before: "does not answer the probe" (exit 2), as the probe's reply came from
    # another port; the crash went unfound.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirefault",
            "fuzz",
            "udp://127.0.0.1:0",
            "--start",
            server_command("udp-fresh-crash"),
            *("--properties", "datagram-sizes", "--max-examples", "30", "--seed", "1"),
            *("--deadline", "0.5", "--shrink-budget", "3", "--json", "--out", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    (failure,) = json.loads(done.stdout)["failures"]
    assert failure["kind"] == "crash"
    assert "after datagrams of [1] bytes" in failure["message"]
    assert "crash: the server crashed (exit status 3)" in failure["message"]
