"""memcached (Debian's) fuzzed with --codec line and no -B: no false alarm.

memcached reads a first byte 0x80 as the start of its binary protocol and then
waits, rightly, for a 24-byte header. The malformed case ``b"\\x80\\n"`` (a line
with invalid UTF-8) used to be reported as a hang; it is the server waiting for
more bytes, which a half-close shows, and is now a note (docs/REAL_SERVERS.md).
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers_support import WAIT, describe, fuzz, judge_once, need_binary, running

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.scenario import Close, Expect, Scenario, Send

LINE = get_codec("line")


def _memcached_pid(address: Address) -> int:
    """The pid memcached reports in ``stats``."""
    with socket.create_connection((address.host, address.port), timeout=WAIT) as sock:
        sock.sendall(b"stats\r\n")
        reply = b""
        while b"END\r\n" not in reply:
            chunk = sock.recv(65536)
            assert chunk, f"memcached closed during stats: {reply!r}"
            reply += chunk
    for line in reply.split(b"\r\n"):
        if line.startswith(b"STAT pid "):
            return int(line.split()[2])
    raise AssertionError(f"no pid in memcached's stats: {reply[:200]!r}")


@pytest.fixture(scope="module")
def memcached() -> Iterator[Address]:
    """memcached on a free loopback port, TCP only, both protocols (no -B); stopped after."""
    binary = need_binary("memcached", "memcached")
    # -u root: memcached refuses to run as root without it (CI runs as root).
    command = f"exec {shlex.quote(binary)} -p {{port}} -l 127.0.0.1 -U 0 -u root -m 16"
    with running(command, Address("tcp", "127.0.0.1", 0), _memcached_pid) as address:
        yield address


def test_a_leading_0x80_is_memcached_waiting_for_a_binary_header_not_a_hang(
    memcached: Address, tmp_path: Path
) -> None:
    scenario = Scenario(
        steps=(
            Send(conn=0, chunks=(b"\x80\n",)),
            Expect(conn=0, count=1),
            Close(conn=0),
            Send(conn=1, chunks=(LINE.probe(),)),
            Expect(conn=1, count=1),
            Close(conn=1),
        ),
        meta=(("malformed", "invalid-utf8"), ("malformed_step", "0")),
    )
    judgement = judge_once(memcached, LINE, "malformed", scenario, tmp_path)
    assert judgement.verdict.ok, judgement.verdict.message
    assert judgement.scenario.tag("confirm") == "half-closed"
    note = judgement.verdict.note
    assert note is not None and "a 2-byte line with invalid UTF-8 b'\\x80\\n'" in note.text
    assert "waited for more bytes (no reply, no close) until the client half-closed" in note.text


def test_an_over_long_line_of_0x80_is_a_binary_header_waiting_for_its_body(
    memcached: Address, tmp_path: Path
) -> None:
    # 0x80 x 8194 with no newline: a binary header whose body length is 0x80808080.
    # Finished by its newline the line is still silence; memcached does not answer the
    # probe sent next either (it is body bytes to it), and closes at the half-close.
    scenario = Scenario(
        steps=(
            Send(conn=0, chunks=(b"\x80" * 8194,)),
            Expect(conn=0, count=1),
            Close(conn=0),
            Send(conn=1, chunks=(LINE.probe(),)),
            Expect(conn=1, count=1),
            Close(conn=1),
        ),
        meta=(("malformed", "over-long-line"), ("malformed_step", "0")),
    )
    judgement = judge_once(memcached, LINE, "malformed", scenario, tmp_path)
    assert judgement.verdict.ok, judgement.verdict.message
    assert judgement.scenario.tag("confirm") == "completed"
    note = judgement.verdict.note
    assert note is not None and "it took the next request as more of the frame" in note.text


def test_fuzzing_memcached_with_the_line_codec_reports_no_failure(
    memcached: Address, tmp_path: Path
) -> None:
    # 60 examples: enough for `malformed` to draw a line starting with 0x80 (it did, and
    # reported a hang, for seeds 1 to 5 before confirmations).
    run = fuzz(
        memcached,
        "line",
        tmp_path,
        *("--backend", "embedded", "--max-examples", "60", "--seed", "1"),
        *("--deadline", "0.5", "--shrink-budget", "2"),
    )
    assert run.returncode == 0 and not run.failures, describe(run)
    # Every property ran to its end; malformed played all 60 (the 0x80 line is among them).
    per_property = run.summary["per_property"]
    assert all(p["complete"] for p in per_property.values()), describe(run)
    assert per_property["malformed"]["examples"] == 60, describe(run)
