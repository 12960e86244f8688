"""The target manager: readiness, crash reports, restarts and stopping (a scripted server)."""

from __future__ import annotations

import shlex
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wirefault._processes import exec_form, group_running
from wirefault.addresses import Address
from wirefault.errors import TargetError
from wirefault.target import ServerProcess

SCRIPT = Path(__file__).with_name("scripted_server.py")
SERVE = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))}"


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    """ServerProcesses to close after the test, whatever happened."""
    made: list[ServerProcess] = []
    yield made
    for server in made:
        server.close()


def managed(servers: list[ServerProcess], command: str, **kwargs: float) -> ServerProcess:
    server = ServerProcess(command, Address("tcp", "127.0.0.1", 0), **kwargs)
    servers.append(server)
    return server


def say(server: ServerProcess, line: bytes) -> bytes:
    """Send one line on a fresh connection; what came back before the server closed or echoed."""
    address = server.address.sockaddr()
    assert isinstance(address, tuple)
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(line)
        return sock.recv(100)


def refused(server: ServerProcess) -> bool:
    try:
        say(server, b"hello\n")
    except ConnectionRefusedError:
        return True
    return False


# -- readiness -----------------------------------------------------------------------------------


def test_start_returns_once_the_server_answers_on_the_port_it_was_given(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    address = server.start()
    assert address.port != 0
    assert say(server, b"hello\n") == b"hello\n"


def test_without_port_in_the_command_the_announced_address_is_used(servers) -> None:
    server = managed(servers, f"{SERVE} 0")
    address = server.start()
    assert address.port != 0
    assert say(server, b"hi\n") == b"hi\n"


def test_a_server_that_never_answers_is_a_timeout_naming_the_command_and_its_stderr(
    servers,
) -> None:
    server = managed(
        servers, f"{SERVE} {{port}} --no-listen --stderr 'binding late'", ready_timeout=0.5
    )
    with pytest.raises(TargetError) as raised:
        server.start()
    message = str(raised.value)
    assert "did not answer on tcp://127.0.0.1:" in message
    assert "within 0.5s" in message
    assert str(SCRIPT) in message and "--no-listen" in message
    assert "stderr ends: binding late" in message
    assert not server.alive()  # stopped, not left behind


def test_a_server_that_never_announces_its_port_is_a_timeout_saying_what_was_expected(
    servers,
) -> None:
    server = managed(servers, f"{SERVE} 0 --no-listen", ready_timeout=0.3)
    with pytest.raises(TargetError, match=r"did not print 'listening on HOST:PORT' within 0\.3s"):
        server.start()


def test_a_command_that_exits_at_once_is_reported_with_its_exit_status(servers) -> None:
    server = managed(servers, f"{SERVE} not-a-port")
    with pytest.raises(TargetError, match=r"exited at once \(exit status 2\).*not-a-port"):
        server.start()


# -- crashes and restarts -------------------------------------------------------------------------


def test_a_crash_is_reported_with_the_servers_own_exit_status(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}} --stderr 'about to fail'")
    server.start()
    say(server, b"die 7\n")
    crash = server.wait_crash(5.0)
    assert crash is not None
    assert crash.how == "exit status 7"
    assert "about to fail" in crash.describe()


def test_a_server_killed_by_a_signal_is_reported_as_killed_by_it_not_as_a_shell_status(
    servers,
) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    server.start()
    say(server, b"abort\n")
    crash = server.wait_crash(5.0)
    assert crash is not None and crash.how == "killed by SIGABRT"


def test_wait_crash_returns_when_the_process_exits_not_when_the_timeout_ends(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    server.start()
    say(server, b"die-later 0.2\n")
    began = time.monotonic()
    crash = server.wait_crash(30.0)
    assert crash is not None and crash.how == "exit status 3"
    assert time.monotonic() - began < 10.0  # far from the 30 s it could have slept


def test_wait_crash_is_none_after_its_timeout_while_the_server_lives(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    server.start()
    began = time.monotonic()
    assert server.wait_crash(0.2) is None
    assert time.monotonic() - began >= 0.2
    assert server.alive()


def test_restart_after_a_crash_starts_a_fresh_server_on_the_same_port(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    first = server.start()
    say(server, b"die 1\n")
    assert server.wait_crash(5.0) is not None
    assert server.restart() == first
    assert server.restarts == 1
    assert server.alive()
    assert say(server, b"again\n") == b"again\n"


def test_a_compound_command_runs_as_written(servers, tmp_path: Path) -> None:
    server = managed(servers, f"cd {shlex.quote(str(tmp_path))} && {SERVE} {{port}}")
    server.start()
    assert say(server, b"hello\n") == b"hello\n"
    say(server, b"die 5\n")
    crash = server.wait_crash(5.0)
    assert crash is not None and crash.how == "exit status 5"


# -- stopping -------------------------------------------------------------------------------------


def test_stop_returns_only_once_the_server_behind_a_shell_has_gone(servers) -> None:
    # The shell dies of SIGTERM at once; the server behind it takes 0.3 s, still listening.
    server = managed(servers, f"{SERVE} {{port}} --linger-on-term 0.3; true")
    server.start()
    pgid = server._proc.pid  # type: ignore[union-attr]
    server.stop()
    assert not group_running(pgid)
    assert refused(server)


def test_stop_kills_a_server_that_ignores_sigterm_after_the_timeout(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}} --ignore-term")
    server.start()
    pgid = server._proc.pid  # type: ignore[union-attr]
    began = time.monotonic()
    server.stop(timeout=0.3)
    assert time.monotonic() - began >= 0.3
    assert not group_running(pgid)
    assert refused(server)


def test_stop_is_idempotent(servers) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    server.start()
    server.stop()
    server.stop()
    assert not server.alive()


def test_a_ctrl_c_while_the_server_starts_stops_it_not_loses_it(
    servers, interrupted_popen: list[int]
) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    with pytest.raises(KeyboardInterrupt):
        server.start()
    assert len(interrupted_popen) == 1
    assert not group_running(interrupted_popen[0])
    assert not server.alive()


# -- how a command is run -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "python -m wirefault serve echo --port 7000",
        "./server > server.log 2>&1",
        "python -c 'import os; os._exit(3)'",
        "server --name=$NAME `cat port`",
    ],
)
def test_a_simple_command_is_execed_so_the_server_is_the_process_we_watch(command: str) -> None:
    assert exec_form(command) == f"exec {command}"


@pytest.mark.parametrize(
    "command",
    [
        "cd /srv && ./server",
        "./server; echo done",
        "./server | tee log",
        "./server &",
        "(./server)",
        "PORT=7000 ./server",
        "ulimit -n 64",
        "exec ./server",
        "./server\n./other",
        "./server 'unbalanced",
    ],
)
def test_anything_else_runs_as_written(command: str) -> None:
    assert exec_form(command) == command


def test_waiting_for_a_crash_gives_up_once_the_server_is_alive_and_idle(servers) -> None:
    # Alive, no CPU, asleep on no timer: it is not on its way out.
    server = managed(servers, f"{SERVE} {{port}}")
    server.start()
    say(server, b"deaf\n")
    began = time.monotonic()
    assert server.wait_crash_unless_idle(10.0, 0.05) is None
    assert time.monotonic() - began < 5.0  # far from the 10 s it could have waited
    assert server.alive()


@pytest.mark.parametrize("line", [b"die-napping 0.3\n", b"die-busy 0.3\n"])
def test_a_server_asleep_on_a_timer_or_at_work_is_waited_for_until_it_dies(
    servers, line: bytes
) -> None:
    server = managed(servers, f"{SERVE} {{port}}")
    server.start()
    say(server, line)
    crash = server.wait_crash_unless_idle(10.0, 0.05)
    assert crash is not None and crash.how == "exit status 3"
