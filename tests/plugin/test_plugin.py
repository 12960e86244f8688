"""The pytest plugin, driven through pytester as a user's project would use it."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def serve(name: str) -> str:
    return f"{sys.executable} -m wirefault serve {name} --port {{port}}"


def test_options_are_registered_under_their_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["wirefault:*", "*--wirefault-backend*", "*--wirefault-profile*", "*--wirefault-out*"]
    )


def test_a_correct_server_passes_one_test_per_property(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.wirefault(codec="lenprefix", max_examples=5)
        def test_robust(wirefault_server, wirefault_check, wirefault_property):
            wirefault_check(wirefault_server({serve("lenprefix")!r}), wirefault_property)
        """
    )
    result = pytester.runpytest_subprocess("--wirefault-backend", "embedded", "-v")
    result.assert_outcomes(
        passed=9
    )  # the 9 properties for a framed stream codec (strictness is http only)
    result.stdout.fnmatch_lines(
        ["*test_robust?reassembly? PASSED*", "*test_robust?half-close? PASSED*"]
    )


@pytest.mark.slow
def test_a_failure_shows_the_property_scenario_and_replay_command(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.wirefault(
            codec="line", properties=["pipelining"], max_examples=25, shrink_budget=5
        )
        def test_robust(wirefault_server, wirefault_check, wirefault_property):
            server = wirefault_server({serve("buggy-first-frame-only")!r})
            wirefault_check(server, wirefault_property, seed=0)
        """
    )
    out = pytester.path / "replays"
    result = pytester.runpytest_subprocess(
        "--wirefault-out", str(out), "--wirefault-backend", "embedded"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*wirefault property 'pipelining' failed (*): *",
            "*minimal scenario*",
            "*c1 send*",
            "*reproduce:   wirefault replay *replays*pipelining-line-*.json*",
        ]
    )
    assert list(out.glob("pipelining-line-*.json"))


@pytest.mark.slow
def test_a_crashing_server_fails_the_test_with_its_exit_status(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.wirefault(
            codec="lenprefix", properties=["malformed"], max_examples=25, shrink_budget=5
        )
        def test_robust(wirefault_server, wirefault_check, wirefault_property):
            server = wirefault_server({serve("buggy-oversize-crash")!r})
            wirefault_check(server, wirefault_property, seed=0)
        """
    )
    result = pytester.runpytest_subprocess("--wirefault-backend", "embedded")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the server crashed (exit status 1)*"])


def test_under_xdist_each_worker_has_its_own_server(pytester: pytest.Pytester) -> None:
    record = pytester.path / "ports.txt"
    pytester.makepyfile(
        f"""
        import os
        import pytest

        @pytest.mark.wirefault(codec="line", max_examples=3)
        def test_robust(wirefault_server, wirefault_check, wirefault_property):
            server = wirefault_server({serve("line")!r})
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            with open({str(record)!r}, "a") as f:
                f.write(f"{{worker}} {{server.address.port}}\\n")
            wirefault_check(server, wirefault_property)
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "--wirefault-backend", "embedded")
    result.assert_outcomes(passed=9)
    pairs = {tuple(line.split()) for line in record.read_text().splitlines()}
    ports_by_worker: dict[str, set[str]] = {}
    for worker, port in pairs:
        ports_by_worker.setdefault(worker, set()).add(port)
    assert set(ports_by_worker) == {"gw0", "gw1"}
    # One server per worker, reused across that worker's tests, never shared.
    assert all(len(ports) == 1 for ports in ports_by_worker.values())
    assert ports_by_worker["gw0"] != ports_by_worker["gw1"]


def test_marker_misuse_fails_loudly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.wirefault("line")
        def test_robust(wirefault_property):
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*keyword arguments only*"])
    assert result.ret != 0


def test_fault_proxy_puts_a_toxic_between_the_test_and_its_server(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import socket, time
        from wirefault.faults.toxics import Latency

        def test_latency(wirefault_server, fault_proxy):
            server = wirefault_server({serve("line")!r})
            proxy = fault_proxy(server.address)
            proxy.add_toxic(Latency(latency=300))
            began = time.monotonic()
            with socket.create_connection(proxy.listen.sockaddr(), timeout=5) as s:
                s.sendall(b"hello\\n")
                assert s.recv(100) == b"OK hello\\n"
            assert time.monotonic() - began >= 0.25
        """
    )
    result = pytester.runpytest_subprocess("--wirefault-backend", "embedded")
    result.assert_outcomes(passed=1)


def test_backend_none_skips_fault_proxy_tests_and_checks_without_faults(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        def test_needs_a_proxy(wirefault_server, fault_proxy):
            fault_proxy(wirefault_server({serve("line")!r}).address)

        @pytest.mark.wirefault(codec="line", properties=["reassembly"], max_examples=5)
        def test_check(wirefault_server, wirefault_check):
            wirefault_check(wirefault_server({serve("line")!r}))
        """
    )
    result = pytester.runpytest_subprocess("--wirefault-backend", "none", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*faults are off (wirefault backend 'none')*"])
