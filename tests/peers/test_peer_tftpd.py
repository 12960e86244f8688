"""tftpd-hpa (Debian's TFTP server): it answers every request from a fresh port.

A TFTP server replies to a read request from a new socket (RFC 1350: each
transfer has its own port), so a client that only takes replies from the port it
wrote to hears nothing. wirefault's UDP clients take replies from any port of
the target's host (docs/REAL_SERVERS.md); before, this server failed the
liveness probe and the campaign stopped with exit status 2.
"""

from __future__ import annotations

import getpass
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers_support import need_binary

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.target import ServerProcess

#: A read request (RRQ) for the file "wirefault" in octet mode; its answer is DATA block 1.
RRQ = b"\x00\x01wirefault\x00octet\x00"
PROBE = "\\x00\\x01wirefault\\x00octet\\x00"  # RRQ as --probe takes it


@pytest.fixture(scope="module")
def tftpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Address]:
    """in.tftpd in the foreground on a free loopback UDP port, serving one small file."""
    binary = need_binary("in.tftpd", "tftpd-hpa")
    root = tmp_path_factory.mktemp("tftp")
    (root / "wirefault").write_bytes(b"hello from tftpd\n")
    command = (
        f"exec {shlex.quote(binary)} --foreground --listen --address 127.0.0.1:{{port}} "
        f"--secure --user {shlex.quote(getpass.getuser())} {shlex.quote(str(root))}"
    )
    with ServerProcess(command, Address("udp", "127.0.0.1", 0)) as server:
        yield server.address


def test_a_read_request_is_answered_from_another_port(tftpd: Address) -> None:
    scenario = Scenario(steps=(Send(conn=0, chunks=(RRQ,)), Expect(conn=0), Close(conn=0)))
    transcript = Runner(tftpd, get_codec("datagram"), options=RunnerOptions(deadline=2.0)).play(
        scenario
    )
    (result,) = transcript.expects
    assert result.outcome == "ok"
    assert result.frames[0] == b"\x00\x03\x00\x01hello from tftpd\n"  # DATA, block 1
    received = next(e for e in transcript.events if e.what == "recv")
    assert received.detail.startswith("from port ")
    assert int(received.detail.split()[-1]) != tftpd.port


def test_fuzzing_tftpd_finds_no_failure(tftpd: Address, tmp_path: Path) -> None:
    # datagram-reply is left out: tftpd ignores datagrams that are not TFTP requests,
    # each costing a deadline and its re-sends before the baseline notes it (slow).
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirefault",
            "fuzz",
            f"udp://{tftpd.hostport}",
            "--probe",
            PROBE,
            *("--properties", "liveness,datagram-sizes,datagram-faults"),
            *("--max-examples", "15", "--seed", "1", "--json", "--out", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not json.loads(done.stdout)["failures"]
