"""wirefault_server in a user's own Hypothesis test, and crash blame with a session fixture."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def serve(name: str) -> str:
    return f"{sys.executable} -m wirefault serve {name} --port {{port}}"


def test_wirefault_server_inside_given_keeps_one_server_for_every_example(
    pytester: pytest.Pytester,
) -> None:
    ports = pytester.path / "ports.txt"
    pytester.makepyfile(
        f"""
        import socket
        from hypothesis import given, settings, strategies as st

        @settings(max_examples=15, deadline=None)
        @given(st.text(alphabet="abcdefgh", min_size=1, max_size=20))
        def test_each_line_is_answered(wirefault_server, line):
            server = wirefault_server({serve("line")!r})
            with open({str(ports)!r}, "a") as f:
                f.write(f"{{server.address.port}}\\n")
            with socket.create_connection(server.address.sockaddr(), timeout=5) as s:
                s.sendall(line.encode() + b"\\n")
                reply = b""
                while not reply.endswith(b"\\n"):
                    chunk = s.recv(100)
                    assert chunk, "the server closed before answering"
                    reply += chunk
            assert reply == b"OK " + line.encode() + b"\\n"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert "FailedHealthCheck" not in result.stdout.str()
    seen = ports.read_text().split()
    assert len(seen) >= 2 and len(set(seen)) == 1  # every example, one running server


def test_a_crash_fails_the_test_that_used_the_server_and_no_other(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import socket

        COMMAND = {serve("buggy-oversize-crash")!r}

        def test_a_crashes_it(wirefault_server):
            server = wirefault_server(COMMAND)
            with socket.create_connection(server.address.sockaddr(), timeout=5) as s:
                s.sendall(b"\\xff\\xff\\xff\\xff")  # an oversize length: the process dies
            assert server.wait_crash(30) is not None

        def test_b_uses_no_server():
            pass

        def test_c_gets_it_restarted(wirefault_server):
            server = wirefault_server(COMMAND)
            with socket.create_connection(server.address.sockaddr(), timeout=5):
                pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_crashes_it FAILED*",
            "*test_b_uses_no_server PASSED*",
            "*test_c_gets_it_restarted PASSED*",
            "*the server under test crashed during this test*",
        ]
    )
