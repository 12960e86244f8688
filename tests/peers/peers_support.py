"""Real peers for tests/peers: Debian's redis-server and nginx, Python's HTTP servers.

The Python servers (uvicorn with h11, hypercorn, waitress, gunicorn) come from
the ``dev`` extra and serve the tiny applications of ``peer_apps.py``.

Each peer runs from its own temporary directory under
:class:`wirefault.target.ServerProcess` (its own process group, SIGTERM then
SIGKILL on stop), and :func:`running` checks afterwards that nothing it forked
(nginx's worker, a redis background save) is left alive. A missing binary
skips the test with the reason, or fails it under ``WIREFAULT_REQUIRE_PEERS=1``
(CI).

Also here: :func:`fuzz` runs ``wirefault fuzz`` in a subprocess and reads its
JSON summary; :func:`read_frames` reads a real server's reply bytes; and the
findings documented in docs/REAL_SERVERS.md, as predicates over the scenario a
failure's replay file holds (:func:`known_finding`), so the fuzz tests accept
exactly those and nothing else.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig
from wirefault.codecs.base import Codec
from wirefault.codecs.resp import RespCodec
from wirefault.judging import Judgement
from wirefault.properties import get_property
from wirefault.replay import load_replay
from wirefault.scenario import HalfClose, Scenario, Send
from wirefault.target import ServerProcess, free_port

#: Set to 1 (CI does) to fail instead of skip when a peer's binary is missing.
REQUIRE_ENV = "WIREFAULT_REQUIRE_PEERS"
#: Where Debian puts nginx: not on a normal user's PATH.
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
#: Seconds to wait for a reply, or for a stopped peer's processes to go.
WAIT = 5.0

#: The minimal nginx configuration: everything under the temporary prefix, so
#: nginx (even as root) needs neither /var/lib/nginx nor /var/log/nginx. The
#: extra locations give the codec tests a 404 page and chunked responses (the
#: addition and sub modules turn Content-Length into Transfer-Encoding: chunked).
NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok\\n"; }}
        location /missing {{ return 404; }}
        location /before {{ return 200 "before\\n"; }}
        location /after {{ return 200 "after\\n"; }}
        location /chunks {{
            default_type text/html;
            add_before_body /before;
            add_after_body /after;
            return 200 "middle\\n";
        }}
        location /filtered {{
            default_type text/html;
            sub_filter "x" "y";
            return 200 "xoxo\\n";
        }}
    }}
}}
"""


def need_binary(name: str, package: str) -> str:
    """The path of ``name``; skip without it (fail when WIREFAULT_REQUIRE_PEERS=1)."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))
    if found is not None:
        return found
    reason = f"{name} not found on PATH or in {', '.join(_SBIN)} (apt-get install {package})"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def need_module(name: str) -> None:
    """Skip without the Python package ``name`` (fail when WIREFAULT_REQUIRE_PEERS=1)."""
    if importlib.util.find_spec(name) is not None:
        return
    reason = f"the Python package {name} is not installed (pip install -e '.[dev]')"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


# -- starting and stopping -----------------------------------------------------------------------


def redis_command(binary: str, workdir: Path) -> str:
    """redis-server on 127.0.0.1:{port}, no persistence, working in ``workdir``."""
    return (
        f"exec {shlex.quote(binary)} --port {{port}} --bind 127.0.0.1 "
        f"--save '' --appendonly no --dir {shlex.quote(str(workdir))}"
    )


def nginx_command(binary: str, workdir: Path) -> tuple[str, Address]:
    """Write nginx.conf for a free port into ``workdir``; the command and the address."""
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=workdir, port=port), encoding="utf-8")
    log = workdir / "error.log"
    quoted = (shlex.quote(str(p)) for p in (binary, conf, workdir, log))
    command = "exec {} -c {} -p {} -e {}".format(*quoted)
    return command, Address("tcp", "127.0.0.1", port)


#: Where peer_apps.py is: the Python servers import their application from there.
APPS = Path(__file__).resolve().parent
#: The Python HTTP servers, as a command serving peer_apps on 127.0.0.1:{port}. uvicorn is
#: told to use h11 (its default picks httptools when installed); gunicorn runs threaded
#: workers (gthread), which keep connections alive, where its default sync worker serves
#: one client at a time and closes after every response (its docs: behind a buffering proxy).
PYTHON_SERVERS = {
    "uvicorn": "-m uvicorn --http h11 --host 127.0.0.1 --port {port} --lifespan off "
    "--log-level warning --no-access-log peer_apps:asgi_app",
    "hypercorn": "-m hypercorn --bind 127.0.0.1:{port} peer_apps:asgi_app",
    "waitress": "-m waitress --listen=127.0.0.1:{port} peer_apps:wsgi_app",
    "gunicorn": "-m gunicorn --bind 127.0.0.1:{port} --workers 1 --worker-class gthread "
    "--threads 4 peer_apps:wsgi_app",
}


def python_server_command(name: str) -> str:
    """The shell command starting Python HTTP server ``name`` on ``{port}``."""
    interpreter = shlex.quote(sys.executable)
    return f"cd {shlex.quote(str(APPS))} && exec {interpreter} {PYTHON_SERVERS[name]}"


def listener_pid(address: Address) -> int:
    """The pid of a process holding the TCP socket listening on ``address`` (Linux /proc)."""
    wanted = f"0100007F:{address.port:04X}"
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
            inode = fields[9]
    assert inode, f"nothing listens on {address.hostport}"
    link = f"socket:[{inode}]"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == link for fd in (entry / "fd").iterdir()):
                return int(entry.name)
    raise AssertionError(f"no process holds the listening socket of {address.hostport}")


@contextlib.contextmanager
def running(command: str, address: Address, leader: Callable[[Address], int]) -> Iterator[Address]:
    """Run a peer; on exit stop it and check that its whole process group is gone.

    Args:
        command: the shell command (``{port}`` is replaced when ``address.port`` is 0).
        address: where it listens.
        leader: given where the peer answers, the pid of one of its processes.
    """
    with ServerProcess(command, address) as server:
        group = os.getpgid(leader(server.address))
        yield server.address
    left = _wait_group_gone(group)
    assert not left, f"processes of the stopped peer are still alive: {left}"


def _wait_group_gone(group: int) -> list[str]:
    deadline = time.monotonic() + WAIT
    while True:
        left = _group_members(group)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def _group_members(group: int) -> list[str]:
    """``pid state name`` of each live (non-zombie) process in process group ``group``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        fields = rest.split()
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(f"{entry.name} {fields[0]} {name}")
    return members


def redis_pid(address: Address) -> int:
    """The pid redis reports in ``INFO server``."""
    reply = exchange(address, RespCodec().encode(b"INFO server"), 1, RespCodec())[0]
    for line in reply.split(b"\r\n"):
        if line.startswith(b"process_id:"):
            return int(line.split(b":", 1)[1])
    raise AssertionError(f"no process_id in redis's INFO reply: {reply[:200]!r}")


def nginx_pid(workdir: Path) -> int:
    """The master's pid from its pid file (written just after it starts listening)."""
    path = workdir / "nginx.pid"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text().strip())
        time.sleep(0.02)
    raise AssertionError(f"nginx wrote no pid file {path} within {WAIT}s")


# -- talking to a peer ---------------------------------------------------------------------------


def connect(address: Address) -> socket.socket:
    """A client socket connected to the peer at ``address``."""
    return socket.create_connection((address.host, address.port), timeout=WAIT)


def read_frames(sock: socket.socket, count: int, codec: Codec) -> bytes:
    """Read until ``count`` response frames of ``codec`` or EOF; the raw bytes read.

    The frames are found with a separate decoder fed whole reads; tests then
    decode the returned bytes their own way (one byte at a time).
    """
    decoder = codec.response_decoder()
    received = bytearray()
    frames = 0
    deadline = time.monotonic() + WAIT
    while frames < count:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            got = f"got {frames} of {count} {codec.name} frames within {WAIT}s"
            raise AssertionError(f"{got}: {bytes(received)!r:.300}") from None
        if not data:
            break
        received += data
        frames += len(decoder.feed(data))
    return bytes(received)


def read_to_eof(sock: socket.socket) -> bytes:
    """Read until the server closes the connection (within :data:`WAIT` seconds)."""
    received = bytearray()
    deadline = time.monotonic() + WAIT
    while data := _recv(sock, deadline):
        received += data
    return bytes(received)


def _recv(sock: socket.socket, deadline: float) -> bytes:
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        return sock.recv(65536)
    except TimeoutError:
        raise AssertionError(f"the server did not close the connection within {WAIT}s") from None


def exchange(address: Address, request: bytes, count: int, codec: Codec) -> list[bytes]:
    """Send ``request`` on a fresh connection and return ``count`` decoded reply frames."""
    with connect(address) as sock:
        sock.sendall(request)
        return codec.response_decoder().feed(read_frames(sock, count, codec))


def feed_bytewise(codec: Codec, data: bytes, *, eof: bool = False) -> tuple[list[bytes], int]:
    """Decode ``data`` fed one byte at a time; the frames and the bytes left pending."""
    decoder = codec.response_decoder()
    frames = [f for i in range(len(data)) for f in decoder.feed(data[i : i + 1])]
    if eof:
        frames += decoder.feed(b"")
    return frames, decoder.pending


# -- wirefault fuzz through its CLI ----------------------------------------------------------------


@dataclass(frozen=True)
class FuzzRun:
    """One ``wirefault fuzz --json`` run: exit status, summary, stderr and wall time."""

    returncode: int
    summary: dict[str, Any]
    stderr: str
    seconds: float

    @property
    def failures(self) -> list[dict[str, Any]]:
        """The summary's failures (property, message, replay path, agreement)."""
        failures: list[dict[str, Any]] = self.summary["failures"]
        return failures


def fuzz(address: Address, codec: str, out: Path, *options: str) -> FuzzRun:
    """Run ``wirefault fuzz HOST:PORT --codec CODEC --json`` in ``out``; its result.

    The example database and replay files go under ``out``; a shared Redis
    example database (``WIREFAULT_REDIS_URL``) is not used.
    """
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "WIREFAULT_REDIS_URL"}
    args = [sys.executable, "-m", "wirefault", "fuzz", address.hostport, "--codec", codec]
    args += ["--json", "--out", str(out), *options]
    began = time.monotonic()
    done = subprocess.run(
        args, cwd=out, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    seconds = time.monotonic() - began
    assert done.returncode in (0, 1), (
        f"wirefault fuzz exited {done.returncode}: {done.stderr[-2000:]}"
    )
    return FuzzRun(done.returncode, json.loads(done.stdout), done.stderr, seconds)


# -- documented findings (docs/REAL_SERVERS.md) ------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A documented behaviour of a real server that wirefault rightly reports.

    Attributes:
        name: the finding's heading in docs/REAL_SERVERS.md.
        properties: the properties it makes fail.
        shows: whether a failing scenario is one this finding explains.
    """

    name: str
    properties: frozenset[str]
    shows: Callable[[Scenario], bool]


def sent_on(scenario: Scenario, conn: int) -> bytes:
    """Every byte the scenario sends on connection ``conn``."""
    return b"".join(s.data for s in scenario.steps if isinstance(s, Send) and s.conn == conn)


def _nul_in_a_resp_line(scenario: Scenario) -> bool:
    """c0 sends a NUL inside a RESP header line or inline command, and never half-closes.

    Redis finds line ends with strchr(), which stops at NUL: it waits for a
    line end it will never see. Bulk bodies (after ``$n``) are binary-safe and
    skipped. With a half-close Redis sees EOF and closes, so that is no hang.
    """
    if any(isinstance(s, HalfClose) and s.conn == 0 for s in scenario.steps):
        return False
    data, pos = sent_on(scenario, 0), 0
    while pos < len(data):
        end = data.find(b"\r", pos)
        line = data[pos : len(data) if end < 0 else end]
        if b"\x00" in line:
            return True
        if end < 0:
            return False
        pos = end + 2
        if line[:1] == b"$" and line[1:].isdigit():
            pos += int(line[1:]) + 2
    return False


#: Redis 7.0.15 (Debian 12): see docs/REAL_SERVERS.md.
REDIS_FINDINGS = (
    Finding(
        "Redis waits forever on a NUL byte in a header line",
        frozenset({"malformed"}),
        _nul_in_a_resp_line,
    ),
)


def known_finding(failure: dict[str, Any], findings: tuple[Finding, ...]) -> str | None:
    """The name of the documented finding that explains ``failure``, or None."""
    if not failure.get("replay"):
        return None
    scenario = load_replay(failure["replay"]).scenario
    for finding in findings:
        if failure["property"] in finding.properties and finding.shows(scenario):
            return finding.name
    return None


def describe(run: FuzzRun) -> str:
    """The summary and the stderr tail of a run, for assertion messages."""
    return json.dumps(run.summary, indent=1) + "\n" + run.stderr[-1500:]


def judge_once(
    address: Address, codec: Codec, prop: str, scenario: Scenario, out: Path
) -> Judgement:
    """``scenario`` played and judged by ``prop`` as a campaign would (second opinions too)."""
    config = CampaignConfig(
        address=address,
        codec=codec,
        properties=(get_property(prop),),
        deadline=0.5,
        out_dir=out,
    )
    return Campaign(config).judge(get_property(prop), scenario)
