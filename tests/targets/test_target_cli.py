"""``wirefault serve`` and ``wirefault targets``, and the registry behind them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest
from targets_support import TargetProcess, connect, recv_exactly, run_cli

from wirefault.errors import UsageError
from wirefault.targets import REFERENCE, all_targets, get_target


def test_targets_json_lists_every_reference_and_buggy_target() -> None:
    result = run_cli("targets", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_name = {row["name"]: row for row in rows}
    assert set(REFERENCE) <= set(by_name)
    assert all(by_name[name]["kind"] == "reference" for name in REFERENCE)
    buggy = [row for row in rows if row["kind"] == "buggy"]
    assert buggy, "the buggy zoo was not discovered"
    assert all(row["bug"] and row["caught_by"] for row in buggy)
    assert all(row["transport"] in ("tcp", "udp") for row in rows)


def test_targets_table_has_one_line_per_target() -> None:
    result = run_cli("targets")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 + len(all_targets())


def test_serve_unknown_name_exits_2_listing_valid_names() -> None:
    result = run_cli("serve", "no-such-server")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "echo-threaded" in lines[0]
    assert "buggy-" in lines[0]


def test_serve_port_in_use_exits_2() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("serve", "echo-threaded", "--port", str(port))
    assert result.returncode == 2
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_bad_idle_timeout_exits_2() -> None:
    result = run_cli("serve", "line", env={"WIREFAULT_IDLE_TIMEOUT": "soon"})
    assert result.returncode == 2
    assert "WIREFAULT_IDLE_TIMEOUT" in result.stderr


def test_serve_runs_a_buggy_target(fresh_server: Callable[..., TargetProcess]) -> None:
    name = next(i.name for i in all_targets() if i.kind == "buggy" and i.protocol == "line")
    server = fresh_server(name)
    with connect(server.address) as sock:
        sock.sendall(b"hello\n")
        assert recv_exactly(sock, 9) == b"OK hello\n"


def _has_ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_serve_brackets_an_ipv6_address(fresh_server: Callable[..., TargetProcess]) -> None:
    server = fresh_server("echo-selectors", host="::1")
    assert server.line.startswith("listening on [::1]:")
    with connect(server.address) as sock:
        sock.sendall(b"v6")
        assert recv_exactly(sock, 2) == b"v6"


def test_get_target_unknown_name_raises_usage_error_with_the_choices() -> None:
    with pytest.raises(UsageError, match="choose one of: echo-threaded"):
        get_target("nope")


def test_get_target_describes_a_reference_server() -> None:
    info = get_target("udp-echo")
    assert (info.protocol, info.transport, info.kind) == ("datagram", "udp", "reference")
    assert info.load().NAME == "udp-echo"


def test_get_target_finds_every_target_as_the_full_listing_describes_it() -> None:
    for info in all_targets():
        assert get_target(info.name) == info


def test_serving_one_buggy_target_imports_no_other_target_module() -> None:
    """`wirefault serve` starts again after every crash: it imports what it serves alone."""
    code = (
        "import sys\nfrom wirefault.targets import get_target\n"
        "get_target('buggy-first-frame-only')\n"
        "print(' '.join(m for m in sys.modules if m.startswith('wirefault.targets.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert "wirefault.targets.buggy.first_frame_only" in out
    assert not [m for m in out if m.startswith("wirefault.targets.buggy.") and "first" not in m]
