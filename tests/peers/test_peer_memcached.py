"""wirefault against Debian's memcached: binary protocol with lenfield, text with a user codec.

The binary protocol's length is at offset 8, four bytes, with 12 more header
bytes after it (``--length-adjust 12``); the text protocol needs a codec wirefault
does not ship, the worked example in examples/memcache_text, loaded as
``memcache_text:MemcacheTextCodec`` and by its entry-point name. For each, the
codec reads memcached's real traffic one byte at a time, and a campaign with
sample requests raises no false alarm.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers_support import (
    Finding,
    connect,
    describe,
    feed_bytewise,
    fuzz,
    known_finding,
    need_binary,
    read_frames,
    running,
)
from protocol_peers import (
    MEMCACHED_BINARY,
    MEMCACHED_BINARY_SAMPLES,
    memcached_ascii_pid,
    memcached_binary,
    memcached_binary_pid,
    memcached_command,
    request_file,
)

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.errors import FrameError
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, Scenario, Send


def _key_beyond_body(scenario: Scenario) -> bool:
    """Some request declares more key and extras bytes than its whole body holds.

    memcached reads the key and extras by their own lengths before it checks them
    against the body length: it waits for bytes of the next request (or forever).
    """
    decoder = MEMCACHED_BINARY.request_decoder()
    sent = b"".join(s.data for s in scenario.steps if isinstance(s, Send))
    try:
        frames = decoder.feed(sent)
    except FrameError:
        frames = []
    for frame in frames:
        key, extras = int.from_bytes(frame[2:4], "big"), frame[4]
        if key + extras > int.from_bytes(frame[8:12], "big"):
            return True
    return False


MEMCACHED_FINDINGS = (
    Finding(
        "memcached reads a key longer than the body from the next request",
        frozenset({"pipelining", "reassembly", "half-close", "malformed"}),
        _key_beyond_body,
    ),
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "memcache_text"
TEXT_CODEC = "memcache_text:MemcacheTextCodec"
#: Text samples whose replies no other request changes: a set of one key, reads and
#: deletes of keys nothing sets, version.
TEXT_SAMPLES = (
    b"set wf:w 0 0 5\r\nhello\r\n",
    b"get wf:none\r\n",
    b"get wf:none wf:none2\r\n",
    b"delete wf:none\r\n",
    b"version\r\n",
)


@pytest.fixture(scope="module")
def binary_server() -> Iterator[Address]:
    """memcached speaking only its binary protocol (``-B binary``)."""
    command = memcached_command(need_binary("memcached", "memcached"), "binary")
    with running(command, Address("tcp", "127.0.0.1", 0), memcached_binary_pid) as address:
        yield address


@pytest.fixture(scope="module")
def text_server() -> Iterator[Address]:
    """memcached speaking only its text protocol (``-B ascii``)."""
    command = memcached_command(need_binary("memcached", "memcached"), "ascii")
    with running(command, Address("tcp", "127.0.0.1", 0), memcached_ascii_pid) as address:
        yield address


@pytest.fixture
def example_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example codec importable here and in the ``wirefault fuzz`` subprocesses."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLE))


# -- binary protocol -----------------------------------------------------------------------------


def test_binary_replies_decode_one_byte_at_a_time(binary_server: Address) -> None:
    key = b"wirefault:bin"
    extras = bytes(4) + bytes(4)  # flags, expiry
    value = b"v" * 300
    body = extras + key + value
    set_request = (
        bytes([0x80, 0x01])
        + len(key).to_bytes(2, "big")
        + bytes([len(extras), 0, 0, 0])
        + len(body).to_bytes(4, "big")
        + bytes(12)
        + body
    )
    with connect(binary_server) as sock:
        sock.sendall(set_request + memcached_binary(0x00, key) + b"".join(MEMCACHED_BINARY_SAMPLES))
        raw = read_frames(sock, 5, MEMCACHED_BINARY)
        sock.sendall(memcached_binary(0x10))  # STAT: one reply per statistic, then an empty one
        stats = read_frames(sock, 40, MEMCACHED_BINARY)
    frames, pending = feed_bytewise(MEMCACHED_BINARY, raw + stats, eof=False)
    assert pending == 0
    assert frames == MEMCACHED_BINARY.response_decoder().feed(raw + stats)
    assert [f[1] for f in frames[:5]] == [0x01, 0x00, 0x00, 0x0A, 0x0B]  # opcodes echoed
    assert frames[1].endswith(value)  # the GET hit carries the 300-byte value
    assert frames[2].endswith(b"Not found")
    assert all(len(f) >= 24 for f in frames)


@pytest.mark.slow
def test_binary_fuzz_with_samples_raises_no_false_alarm(
    binary_server: Address, tmp_path: Path
) -> None:
    samples = request_file(tmp_path / "memcached.txt", MEMCACHED_BINARY_SAMPLES)
    run = fuzz(
        binary_server,
        "lenfield",
        tmp_path,
        *("--length-offset", "8", "--length-bytes", "4", "--length-adjust", "12"),
        *("--requests", str(samples), "--backend", "embedded"),
        *("--max-examples", "10", "--seed", "1", "--shrink-budget", "3"),
    )
    assert run.summary["examples"] >= 7 * 10, describe(run)
    unexplained = [f for f in run.failures if known_finding(f, MEMCACHED_FINDINGS) is None]
    assert not unexplained, describe(run)


def test_a_key_longer_than_the_body_makes_memcached_wait_for_the_next_request(
    binary_server: Address,
) -> None:
    # GET with a 14-byte key but a body of 0: memcached reads 14 more bytes as the key.
    liar = bytearray(MEMCACHED_BINARY_SAMPLES[0][:24])
    liar[8:12] = bytes(4)
    steps = (Send(conn=0, chunks=(bytes(liar),)), Expect(conn=0), Close(conn=0))
    scenario = Scenario(steps=steps)
    assert MEMCACHED_FINDINGS[0].shows(scenario)
    transcript = Runner(binary_server, MEMCACHED_BINARY, options=RunnerOptions(deadline=0.5)).play(
        scenario
    )
    assert MEMCACHED_BINARY.request_decoder().feed(bytes(liar)) == [bytes(liar)]  # whole frame
    assert transcript.expects[0].outcome == "timeout"  # yet no reply: memcached waits


# -- text protocol, through the example's user codec ----------------------------------------------


def test_text_replies_decode_one_byte_at_a_time(
    text_server: Address, example_on_path: None
) -> None:
    codec = get_codec(TEXT_CODEC)
    requests = [
        b"set wf:t 0 0 12\r\nhello\r\nthere\r\n",  # a value holding a line end
        b"get wf:t\r\n",
        b"get wf:t wf:none wf:t\r\n",
        b"get wf:none\r\n",
        b"version\r\n",
        b"bogus\r\n",
        b"stats\r\n",
    ]
    assert codec.request_decoder().feed(b"".join(requests)) == requests
    with connect(text_server) as sock:
        sock.sendall(b"".join(requests))
        raw = read_frames(sock, len(requests), codec)
    frames, pending = feed_bytewise(codec, raw, eof=True)
    assert pending == 0 and len(frames) == len(requests)
    assert frames[:5] == [
        b"STORED\r\n",
        b"VALUE wf:t 0 12\r\nhello\r\nthere\r\nEND\r\n",
        b"VALUE wf:t 0 12\r\nhello\r\nthere\r\nVALUE wf:t 0 12\r\nhello\r\nthere\r\nEND\r\n",
        b"END\r\n",
        b"VERSION " + frames[4][8:],
    ]
    assert frames[5] == b"ERROR\r\n"
    assert frames[6].startswith(b"STAT pid ") and frames[6].endswith(b"END\r\n")


@pytest.mark.slow
def test_text_fuzz_with_the_user_codec_raises_no_false_alarm(
    text_server: Address, tmp_path: Path, example_on_path: None
) -> None:
    samples = request_file(tmp_path / "memcached.txt", TEXT_SAMPLES)
    run = fuzz(
        text_server,
        TEXT_CODEC,
        tmp_path,
        *("--requests", str(samples), "--backend", "embedded"),
        *("--max-examples", "10", "--seed", "1", "--shrink-budget", "3"),
    )
    assert run.summary["codec"] == "memcache-text", describe(run)
    assert run.summary["examples"] >= 7 * 10, describe(run)
    assert not run.failures, describe(run)


def test_the_user_codec_is_found_by_its_entry_point_name(
    text_server: Address, tmp_path: Path, example_on_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `pip install ./examples/memcache_text` leaves: metadata with the entry point.
    site = tmp_path / "site"
    info = site / "wirefault_memcache_text-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: wirefault-memcache-text\nVersion: 0.1.0\n"
    )
    pyproject = (EXAMPLE / "pyproject.toml").read_text()
    entry = next(line for line in pyproject.splitlines() if line.startswith("memcache-text ="))
    name, _, target = entry.partition("=")
    (info / "entry_points.txt").write_text(
        f"[wirefault.codecs]\n{name.strip()} = {target.strip().strip(chr(34))}\n"
    )
    monkeypatch.setenv("PYTHONPATH", f"{site}:{EXAMPLE}")
    run = fuzz(
        text_server,
        "memcache-text",
        tmp_path / "out",
        *("--properties", "liveness,reassembly", "--max-examples", "3", "--backend", "none"),
    )
    assert run.returncode == 0, describe(run)
    assert run.summary["codec"] == "memcache-text"
    assert sys.executable  # the subprocess ran this interpreter, with the example on its path
