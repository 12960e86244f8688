"""The buggy zoo: each server keeps the module contract, serves the happy path, and has its bug.

Every server runs in a subprocess, started the way the harness starts it
(``python -m wirefault serve NAME --port 0``) once that command exists, else
through a tiny launcher that does the same: install a SIGTERM handler, call
``serve()`` and print ``listening on HOST:PORT``. Each trigger test shows the
bug really happens with a hand-written client; the harness's properties are
what is meant to find it by themselves.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

import wirefault.targets.buggy

REPO = Path(__file__).resolve().parents[2]
CODECS = {"raw", "line", "lenprefix", "lenfield", "http", "resp", "datagram"}
PROPERTIES = {
    "reassembly",
    "pipelining",
    "malformed",
    "stall-isolation",
    "reset",
    "half-close",
    "large-payload",
    "strictness",
    "growth",
    "liveness",
    "echo",
    "datagram-reply",
    "datagram-sizes",
    "datagram-faults",
}
ZOO = sorted(
    m.name
    for m in pkgutil.iter_modules(wirefault.targets.buggy.__path__)
    if not m.name.startswith("_")
)

# Servers whose bug is that they serve one client only: any fresh client, a liveness probe
# included, is the trigger, so their happy path is a second exchange from the same client.
ONE_CLIENT_ONLY = {"udp_connected"}

START_TIMEOUT = 15.0  # seconds for a server to print its listening line
REPLY_TIMEOUT = 3.0  # seconds a reply may take when one is due
QUIET = 0.8  # seconds of silence that count as "no reply" where none must come
_LISTENING = re.compile(rb"listening on \[?([^\]\s]+?)\]?:(\d+)")
_LAUNCHER = """
import importlib, signal, sys

def _terminate(signum, frame):
    raise SystemExit(0)

signal.signal(signal.SIGTERM, _terminate)
module = importlib.import_module(sys.argv[1])

def ready(address):
    print(f"listening on {address[0]}:{address[1]}", flush=True)

try:
    module.serve("127.0.0.1", 0, ready)
except KeyboardInterrupt:
    pass
"""


def _zoo_module(name: str) -> ModuleType:
    return importlib.import_module(f"wirefault.targets.buggy.{name}")


def _cli_serve_available() -> bool:
    """Whether `python -m wirefault serve` can run: every CLI subcommand module exists."""
    import wirefault.cli

    commands = getattr(wirefault.cli, "_COMMANDS", ())
    return bool(commands) and all(
        importlib.util.find_spec(f"wirefault.cli.{command}") is not None for command in commands
    )


USE_CLI = _cli_serve_available()


# -- server processes ------------------------------------------------------------------------


@dataclass
class Server:
    """A zoo server running in a subprocess."""

    proc: subprocess.Popen[bytes]
    address: tuple[str, int]
    stderr_path: Path

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_exit(self, timeout: float = 5.0) -> int:
        """The exit status, once the process has ended by itself."""
        return self.proc.wait(timeout)

    def wait_stderr(self, text: str, timeout: float = 5.0) -> None:
        """Poll stderr until ``text`` appears."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            assert time.monotonic() < deadline, f"{text!r} not on stderr: {self.stderr()!r}"
            time.sleep(0.01)  # polling with a deadline, not synchronisation by sleeping


def _command(name: str) -> list[str]:
    if USE_CLI:
        return [sys.executable, "-m", "wirefault", "serve", _zoo_module(name).NAME, "--port", "0"]
    return [sys.executable, "-c", _LAUNCHER, f"wirefault.targets.buggy.{name}"]


def _read_listening(proc: subprocess.Popen[bytes], stderr_path: Path) -> tuple[str, int]:
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    seen = b""
    while (match := _LISTENING.search(seen)) is None:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            err = stderr_path.read_text(errors="replace")
            raise AssertionError(f"no listening line (stdout {seen!r}, stderr {err!r})")
        seen += chunk
    return match.group(1).decode(), int(match.group(2))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def running(name: str, directory: Path) -> Iterator[Server]:
    """Start zoo server ``name`` (a module name) and stop it on exit."""
    stderr_path = directory / f"{name}.stderr"
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            _command(name), stdout=subprocess.PIPE, stderr=err, cwd=REPO, start_new_session=True
        )
    try:
        yield Server(proc, _read_listening(proc, stderr_path), stderr_path)
    finally:
        _stop(proc)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    """Start zoo servers by module name; all are stopped when the test ends."""
    with contextlib.ExitStack() as stack:
        yield lambda name: stack.enter_context(running(name, tmp_path))


# -- clients ---------------------------------------------------------------------------------


def tcp(address: tuple[str, int], *, rcvbuf: int = 0) -> socket.socket:
    """A connected TCP client with a reply timeout (``rcvbuf`` set before connecting)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(REPLY_TIMEOUT)
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


def udp() -> socket.socket:
    """An unconnected UDP client bound to a loopback port of its own."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(REPLY_TIMEOUT)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes, or fail on EOF / timeout."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"EOF after {data!r}, wanted {size} bytes"
        data += chunk
    return data


def recv_until_idle(sock: socket.socket, idle: float = QUIET) -> bytes:
    """Everything that arrives until EOF or ``idle`` seconds without a byte."""
    sock.settimeout(idle)
    data = b""
    with contextlib.suppress(TimeoutError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def assert_silent(sock: socket.socket, seconds: float = QUIET) -> None:
    """Nothing arrives and the connection stays open for ``seconds``."""
    sock.settimeout(seconds)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return
    pytest.fail(f"expected silence for {seconds}s, got {data!r} (b'' is a close)")


def reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER on, zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def frame(payload: bytes) -> bytes:
    """A lenprefix frame: 4-byte big-endian length, then the payload."""
    return struct.pack(">I", len(payload)) + payload


def http_post(body: bytes) -> bytes:
    """A keep-alive POST whose body the server echoes."""
    head = f"POST /wirefault HTTP/1.1\r\nHost: wirefault\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def read_http_response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of one Content-Length response (nothing read beyond it)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"EOF inside a response head {head!r}"
        head += byte
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    assert length is not None, head
    return status, recv_exactly(sock, int(length.group(1)))


def udp_exchange(sock: socket.socket, address: tuple[str, int], payload: bytes) -> bytes:
    """Send one datagram and return the reply."""
    sock.sendto(payload, address)
    reply, _ = sock.recvfrom(65535)
    return reply


# -- the module contract ---------------------------------------------------------------------


def test_the_zoo_has_at_least_fourteen_servers() -> None:
    assert len(ZOO) >= 14, ZOO


def test_names_are_unique_and_marked_buggy() -> None:
    names = [_zoo_module(name).NAME for name in ZOO]
    assert len(set(names)) == len(names), names
    assert all(name.startswith("buggy-") for name in names), names


@pytest.mark.parametrize("name", ZOO)
def test_module_keeps_the_contract(name: str) -> None:
    module = _zoo_module(name)
    assert module.__doc__ is not None
    assert module.__doc__.strip()
    assert "\n" not in module.__doc__.strip()
    assert module.PROTOCOL in CODECS
    transport = "udp" if module.PROTOCOL == "datagram" else "tcp"
    assert transport == module.TRANSPORT
    assert module.CAUGHT_BY in PROPERTIES
    assert isinstance(module.BUG, str)
    assert module.BUG.strip()
    assert "\n" not in module.BUG
    assert list(inspect.signature(module.serve).parameters) == ["host", "port", "ready"]
    assert module.serve.__doc__


@pytest.mark.parametrize("name", ZOO)
def test_module_imports_only_the_stdlib_and_h11(name: str) -> None:
    source = Path(_zoo_module(name).__file__ or "").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"h11"}, imported
    assert "# BUG:" in source


def test_contract_names_match_the_live_registries() -> None:
    """CAUGHT_BY and PROTOCOL name real properties and codecs; the registry lists the zoo."""
    from wirefault.codecs import codec_names
    from wirefault.properties import PROPERTIES as REGISTERED
    from wirefault.targets import get_target

    assert set(codec_names()) == CODECS
    assert set(REGISTERED) == PROPERTIES
    for name in ZOO:
        module = _zoo_module(name)
        info = get_target(module.NAME)
        assert (info.kind, info.caught_by) == ("buggy", module.CAUGHT_BY)


# -- the happy path: a simple request is answered, and so is a fresh client after it ----------


def _happy_exchange(module: ModuleType, address: tuple[str, int]) -> None:
    if module.PROTOCOL == "datagram":
        with udp() as client:
            assert udp_exchange(client, address, b"hello") == b"hello"
        return
    with tcp(address) as client:
        if module.PROTOCOL == "line":
            client.sendall(b"hello\n")
            assert recv_exactly(client, 9) == b"OK hello\n"
        elif module.PROTOCOL == "lenprefix":
            client.sendall(frame(b"hello"))
            assert recv_exactly(client, 9) == frame(b"hello")
        elif module.PROTOCOL == "raw":
            client.sendall(b"hello")
            assert recv_exactly(client, 5) == b"hello"
        elif module.PROTOCOL == "lenfield":
            # Its handshake (PREAMBLE), then its first sample request, each answered.
            for request in (*module.PREAMBLE, module.REQUESTS[0]):
                client.sendall(request)
                header = recv_exactly(client, 6)
                body = recv_exactly(client, int.from_bytes(header[4:6], "big"))
                assert header[:3] == request[:3] and header[3] == 0x80 | request[3], header
                assert body
        elif module.PROTOCOL == "http":
            client.sendall(b"GET / HTTP/1.1\r\nHost: wirefault\r\n\r\n")
            status, _body = read_http_response(client)
            assert status == 200
            client.sendall(http_post(b"hello"))
            assert read_http_response(client) == (200, b"hello")
        else:
            pytest.fail(f"no happy-path client for {module.PROTOCOL}")


@pytest.mark.parametrize("name", sorted(set(ZOO) - ONE_CLIENT_ONLY))
def test_happy_path_is_served_then_a_fresh_client_too(
    name: str, start: Callable[[str], Server]
) -> None:
    server = start(name)
    module = _zoo_module(name)
    _happy_exchange(module, server.address)
    _happy_exchange(module, server.address)
    assert server.proc.poll() is None


@pytest.mark.parametrize("name", sorted(ONE_CLIENT_ONLY))
def test_happy_path_of_a_one_client_server_is_served(
    name: str, start: Callable[[str], Server]
) -> None:
    server = start(name)
    with udp() as client:
        for payload in (b"hello", b"again"):
            assert udp_exchange(client, server.address, payload) == payload


# -- each bug, triggered by hand -------------------------------------------------------------


def test_recv_whole_frame_echoes_a_partial_frame_short(start: Callable[[str], Server]) -> None:
    server = start("recv_whole_frame")
    with tcp(server.address) as client:
        client.sendall(struct.pack(">I", 10) + b"hello")  # half of a 10-byte frame
        # A correct server waits for the other 5 bytes; this one echoes what one read got.
        assert recv_exactly(client, 9) == struct.pack(">I", 10) + b"hello"


def test_recv_whole_frame_drops_a_client_whose_header_is_split(
    start: Callable[[str], Server],
) -> None:
    server = start("recv_whole_frame")
    with tcp(server.address) as client:
        client.sendall(b"\x00\x00")  # the first half of a header
        assert recv_until_idle(client, REPLY_TIMEOUT) == b""  # closed: struct.error
    server.wait_stderr("unpack requires a buffer")


def test_first_frame_only_drops_pipelined_lines(start: Callable[[str], Server]) -> None:
    server = start("first_frame_only")
    with tcp(server.address) as client:
        client.sendall(b"a\nb\n")
        assert recv_exactly(client, 5) == b"OK a\n"
        client.sendall(b"c\n")
        assert recv_exactly(client, 5) == b"OK c\n"  # "b" was never answered


def test_telemetry_pipeline_drop_loses_frames_pipelined_after_the_handshake(
    start: Callable[[str], Server],
) -> None:
    server = start("telemetry_pipeline_drop")
    module = _zoo_module("telemetry_pipeline_drop")
    temp, load = module.REQUESTS[:2]
    with tcp(server.address) as client:
        client.sendall(module.PREAMBLE[0])
        assert recv_exactly(client, 13) == b"WT\x01\x81\x00\x07welcome"
        client.sendall(temp + load)
        assert recv_exactly(client, 16) == b"WT\x01\x82\x00\x0avalue:temp"
        client.sendall(load)
        assert recv_exactly(client, 16) == b"WT\x01\x82\x00\x0avalue:load"  # the first was lost
    # Frames made of zeros before the length field never get that far.
    with tcp(server.address) as client:
        client.sendall(bytes(4) + b"\x00\x02ab")
        assert client.recv(16) == b""


def test_oversize_crash_dies_on_an_oversize_length(start: Callable[[str], Server]) -> None:
    server = start("oversize_crash")
    with tcp(server.address) as bystander, tcp(server.address) as client:
        client.sendall(struct.pack(">I", 0xFFFFFFFF))
        assert server.wait_exit() != 0
        assert recv_until_idle(bystander, REPLY_TIMEOUT) == b""  # everyone lost the server
    assert "FrameTooLarge" in server.stderr()


def test_blocking_single_client_is_held_up_by_a_stalled_client(
    start: Callable[[str], Server],
) -> None:
    server = start("blocking_single_client")
    with tcp(server.address) as staller, tcp(server.address) as other:
        staller.sendall(b"a\n")
        assert recv_exactly(staller, 5) == b"OK a\n"  # the staller is the one being served
        staller.sendall(b"half a li")
        other.sendall(b"x\n")
        assert_silent(other)
        staller.close()
        other.settimeout(REPLY_TIMEOUT)
        assert recv_exactly(other, 5) == b"OK x\n"  # served only once the staller left


def test_select_reset_dies_when_a_client_resets(start: Callable[[str], Server]) -> None:
    server = start("select_reset")
    client = tcp(server.address)
    client.sendall(b"ping")
    assert recv_exactly(client, 4) == b"ping"
    reset(client)
    assert server.wait_exit() != 0
    assert "ConnectionResetError" in server.stderr()


def test_ignore_short_send_truncates_a_large_reply(start: Callable[[str], Server]) -> None:
    server = start("ignore_short_send")
    payload = bytes(range(256)) * 4096  # 1 MiB
    with tcp(server.address, rcvbuf=8192) as client:
        client.sendall(frame(payload))
        got = recv_until_idle(client)
    assert 0 < len(got) < len(frame(payload))
    assert frame(payload).startswith(got)


def test_halfclose_drop_loses_replies_to_requests_before_shut_wr(
    start: Callable[[str], Server],
) -> None:
    server = start("halfclose_drop")
    with tcp(server.address) as client:
        client.sendall(b"a\nb\n")
        client.shutdown(socket.SHUT_WR)
        got = recv_until_idle(client, REPLY_TIMEOUT)
    assert got != b"OK a\nOK b\n"
    assert b"OK a\nOK b\n".startswith(got)


@pytest.mark.parametrize("datagram", [b"", b"x"], ids=["empty", "one-byte"])
def test_udp_short_crash_dies_on_a_tiny_datagram(
    datagram: bytes, start: Callable[[str], Server]
) -> None:
    server = start("udp_short_crash")
    with udp() as client:
        client.sendto(datagram, server.address)
        assert server.wait_exit() != 0
    assert "unpack_from requires a buffer" in server.stderr()


def test_udp_small_buffer_echoes_large_datagrams_truncated(
    start: Callable[[str], Server],
) -> None:
    server = start("udp_small_buffer")
    payload = bytes(range(256)) * 8  # 2048 bytes
    with udp() as client:
        assert udp_exchange(client, server.address, payload) == payload[:1024]


def test_udp_connected_ignores_a_second_client(start: Callable[[str], Server]) -> None:
    server = start("udp_connected")
    with udp() as first, udp() as second:
        assert udp_exchange(first, server.address, b"one") == b"one"
        second.sendto(b"two", server.address)
        assert_silent(second)
        assert udp_exchange(first, server.address, b"three") == b"three"  # still alive


def test_udp_retransmit_drop_never_answers_a_repeated_datagram(
    start: Callable[[str], Server],
) -> None:
    server = start("udp_retransmit_drop")
    with udp() as client, udp() as other:
        assert udp_exchange(client, server.address, b"same") == b"same"
        client.sendto(b"same", server.address)
        assert_silent(client)
        assert udp_exchange(client, server.address, b"new") == b"new"
        assert udp_exchange(other, server.address, b"same") == b"same"  # per client


def test_fd_leak_stops_serving_after_a_few_dozen_resets(start: Callable[[str], Server]) -> None:
    server = start("fd_leak")
    served = 0
    for _ in range(200):
        client = tcp(server.address)
        try:
            client.sendall(b"n\n")
            client.settimeout(QUIET)
            if client.recv(16) != b"OK n\n":
                break
        except OSError:  # no answer (the server cannot accept) or dropped
            break
        finally:
            reset(client)
        served += 1
    assert 10 <= served < 200
    server.wait_stderr("Too many open files")
    assert server.proc.poll() is None  # a leak, not a crash


def test_malformed_hang_neither_replies_nor_closes(start: Callable[[str], Server]) -> None:
    server = start("malformed_hang")
    with tcp(server.address) as client, tcp(server.address) as other:
        client.sendall(struct.pack(">I", 0xFFFFFFFF))
        server.wait_stderr("skipping an oversized frame")
        assert_silent(client)
        other.sendall(frame(b"hi"))
        assert recv_exactly(other, 6) == frame(b"hi")  # others are still served


def _fill_until_the_server_stops_reading(sock: socket.socket) -> None:
    sock.setblocking(False)
    burst = (b"x" * 1000 + b"\n") * 64
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _, writable, _ = select.select([], [sock], [], 0.5)
        if not writable:
            return  # 0.5 s without room to send: the server stopped reading us
        with contextlib.suppress(BlockingIOError):
            sock.send(burst)
    pytest.fail("the server kept reading from a client that does not read")


def test_slow_reader_block_freezes_everyone_behind_a_non_reader(
    start: Callable[[str], Server],
) -> None:
    server = start("slow_reader_block")
    with tcp(server.address) as other:
        non_reader = tcp(server.address, rcvbuf=4096)
        try:
            _fill_until_the_server_stops_reading(non_reader)
            other.sendall(b"x\n")
            assert_silent(other)
        finally:
            reset(non_reader)
        other.settimeout(REPLY_TIMEOUT)
        assert recv_exactly(other, 5) == b"OK x\n"  # unblocked by the reset


def test_http_one_request_per_read_drops_pipelined_requests(
    start: Callable[[str], Server],
) -> None:
    server = start("http_one_request_per_read")
    with tcp(server.address) as client:
        client.sendall(http_post(b"one") + http_post(b"two"))
        assert read_http_response(client) == (200, b"one")
        client.sendall(http_post(b"three"))
        assert read_http_response(client) == (200, b"three")  # "two" was never answered


def test_thread_crash_on_garbage_leaves_the_client_hanging(
    start: Callable[[str], Server],
) -> None:
    server = start("thread_crash_on_garbage")
    with tcp(server.address) as client, tcp(server.address) as other:
        client.sendall(b"\xff\xfe garbage\n")
        server.wait_stderr("UnicodeDecodeError")
        assert_silent(client)
        other.sendall(b"fine\n")
        assert recv_exactly(other, 8) == b"OK fine\n"  # only that thread died


def http_get(*fields: bytes) -> bytes:
    """A keep-alive GET / with Host: wirefault and ``fields``."""
    return b"\r\n".join([b"GET / HTTP/1.1", b"Host: wirefault", *fields]) + b"\r\n\r\n"


def test_http_lenient_host_serves_an_invalid_host(start: Callable[[str], Server]) -> None:
    server = start("http_lenient_host")
    with tcp(server.address) as client:
        client.sendall(b'GET / HTTP/1.1\r\nHost: wire"fault\r\n\r\n')
        assert read_http_response(client)[0] == 200  # RFC 9112 section 3.2: MUST be a 400
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")  # no Host at all: h11 refuses it
        assert read_http_response(client)[0] == 400


def test_http_lenient_chunk_end_serves_chunk_data_followed_by_anything(
    start: Callable[[str], Server],
) -> None:
    server = start("http_lenient_chunk_end")
    chunked = b"POST / HTTP/1.1\r\nHost: wirefault\r\nTransfer-Encoding: chunked\r\n\r\n"
    with tcp(server.address) as client:
        client.sendall(chunked + b"1\r\nAXX0\r\n\r\n")  # the case: XX, not CRLF
        assert read_http_response(client) == (200, b"A")  # RFC 9112 section 7.1: SHOULD 400
        client.sendall(chunked + b"2\r\nAB\r\n0\r\n\r\n")  # done right, on the same connection
        assert read_http_response(client) == (200, b"AB")
    with tcp(server.address) as client:
        client.sendall(chunked + b"0x1\r\nA\r\n0\r\n\r\n")  # every other chunk rule is kept
        assert read_http_response(client)[0] == 400


def test_http_header_backtracking_stalls_on_a_long_run_ending_in_a_control_byte(
    start: Callable[[str], Server],
) -> None:
    server = start("http_header_backtracking")
    with tcp(server.address) as client, tcp(server.address) as other:
        client.sendall(http_get(b"X-Wirefault: " + b"a" * 40 + b"\x01"))
        assert_silent(client)
        other.sendall(http_get(b"X-Wirefault: " + b"a" * 40))
        assert read_http_response(other)[0] == 200  # one child per client: others are served


def test_http_cookie_quadratic_takes_four_times_as_long_for_twice_the_cookies(
    start: Callable[[str], Server],
) -> None:
    server = start("http_cookie_quadratic")

    def timed(pairs: int) -> float:
        cookie = b"; ".join(b"c%d=v" % i for i in range(pairs))
        with tcp(server.address) as client:
            began = time.monotonic()
            client.sendall(http_get(b"Cookie: " + cookie))
            status, body = read_http_response(client)
            assert (status, body.split(b"\n")[1]) == (200, b"%d cookies" % pairs)
            return time.monotonic() - began

    # Ratios of the best of three, a side by side: generous for a loaded machine.
    small = min(timed(1000) for _ in range(3))
    large = min(timed(4000) for _ in range(3))
    assert large > 6 * small, (small, large)
