"""A failure found on one machine is the first example tried on the next (WIREFAULT_REDIS_URL).

Each test starts a real ``redis-server`` on a free loopback port (without it the
test skips with the reason, or fails under ``WIREFAULT_REQUIRE_PEERS=1``), then
runs wirefault twice as separate processes — like two CI runners — with
different output folders, so nothing is shared but the Redis database. The
first run finds the failure; the second must fail on its first example.

The target is ``buggy-oversize-crash`` under ``malformed``: its bug needs an
oversized length, which Hypothesis's first (simplest) example never has, so a
run without the shared database always needs two or more examples. (A bug the
simplest example already triggers, such as ``buggy-first-frame-only`` under
``pipelining``, fails on example 1 either way and would prove nothing.)

No run is given ``--seed``: Hypothesis's ``@seed`` turns the example database
off (neither read nor written), so seeded runs cannot share failures. Unseeded,
each run draws its own random seed, which is what two CI runners do.

"At once" means while replaying what the first run stored: the second run's
first failure comes within the first N examples, N the number of examples
stored (normally 1). When the first run's shrink budget runs out, Hypothesis
also stores the candidate it was about to try (the campaign stops it with a
BaseException, and Hypothesis saves the choices of any example that raises
one); that candidate passes, is tried first, and is then deleted, so N is 2.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wirefault.addresses import Address
from wirefault.database import REDIS_ENV
from wirefault.target import ServerProcess

pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.slow,
]

SERVER = f"{shlex.quote(sys.executable)} -m wirefault serve buggy-oversize-crash --port {{port}}"
REQUIRE_ENV = "WIREFAULT_REQUIRE_PEERS"
TIMEOUT = 120.0  # seconds: a hard stop for one run; each takes 2-5 s

# Drives wirefault.campaign.Campaign directly, to read PropertyResult.examples_to_failure
# (the JSON summary of `wirefault fuzz` has no per-property count of it).
CAMPAIGN_SCRIPT = """
import json, sys
from pathlib import Path
from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig
from wirefault.codecs import get_codec
from wirefault.database import example_database
from wirefault.properties import select_properties
from wirefault.target import ServerProcess

command, out = sys.argv[1], Path(sys.argv[2])
codec = get_codec("lenprefix")
with ServerProcess(command, Address("tcp", "127.0.0.1", 0)) as server:
    config = CampaignConfig(
        address=server.address,
        codec=codec,
        properties=tuple(select_properties(codec, ["malformed"], oracles=[])),
        profile="dev",
        max_examples=50,
        out_dir=out,
        label="shared-database-test",
        start=command,
        shrink_budget=2.0,
    )
    result = Campaign(config, server=server, database=example_database(out)).run()
(prop,) = result.results
print(json.dumps({"status": prop.status, "examples": prop.examples,
                  "examples_to_failure": prop.examples_to_failure}))
"""

# The user's test file for the plugin-level variant: it records, through a wrapper
# around Campaign.run, how many examples each run needed to fail.
PLUGIN_TEST = """
import pytest
from wirefault.campaign import Campaign

@pytest.mark.wirefault(codec="lenprefix", properties=["malformed"], max_examples=50,
                       shrink_budget=2)
def test_robust(wirefault_server, wirefault_check, wirefault_property, monkeypatch):
    original = Campaign.run

    def recording(self):
        result = original(self)
        with open({record!r}, "a") as f:
            for prop in result.results:
                f.write(f"{{prop.examples_to_failure}}\\n")
        return result

    monkeypatch.setattr(Campaign, "run", recording)
    wirefault_check(wirefault_server({server!r}), wirefault_property)
"""


def need_redis_server() -> str:
    """The redis-server binary; skip without it (fail when WIREFAULT_REQUIRE_PEERS=1)."""
    found = shutil.which("redis-server")
    if found:
        return found
    reason = "redis-server not found on PATH (apt-get install redis-server)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty redis-server on a free loopback port, stopped after the test."""
    binary = need_redis_server()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    command = (
        f"exec {shlex.quote(binary)} --port {{port}} --bind 127.0.0.1 --save '' "
        f"--appendonly no --dir {shlex.quote(str(workdir))}"
    )
    with ServerProcess(command, Address("tcp", "127.0.0.1", 0)) as server:
        yield f"redis://127.0.0.1:{server.address.port}/0"


def stored_keys(url: str) -> list[bytes]:
    """The keys wirefault's example database holds in the Redis at ``url``."""
    import redis

    with redis.Redis.from_url(url, socket_timeout=5) as client:
        return sorted(client.keys(b"wirefault:*"))


def stored_failures(url: str) -> int:
    """How many examples the database holds under its primary keys (each run tries them first)."""
    import redis

    with redis.Redis.from_url(url, socket_timeout=5) as client:
        keys = [
            k for k in client.keys(b"wirefault:*") if not k.endswith((b".secondary", b".pareto"))
        ]
        return sum(int(client.scard(key)) for key in keys)


def child_environment(url: str) -> dict[str, str]:
    """This environment with the shared database set and no outer xdist worker variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    env[REDIS_ENV] = url
    return env


def run_campaign(url: str, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CAMPAIGN_SCRIPT, SERVER, str(out)],
        env=child_environment(url),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_fuzz(url: str, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "wirefault",
        "fuzz",
        "127.0.0.1:0",
        "--codec",
        "lenprefix",
        "--start",
        SERVER,
        "--properties",
        "malformed",
        "--max-examples",
        "50",
        "--shrink-budget",
        "2",
        "--backend",
        "embedded",
        "--out",
        str(out),
        "--json",
    ]
    done = subprocess.run(
        command,
        env=child_environment(url),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1, f"exit {done.returncode}: {done.stderr[-3000:]}"
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def test_a_campaign_fails_at_once_on_the_failure_another_process_found(
    redis_url: str, tmp_path: Path
) -> None:
    first = run_campaign(redis_url, tmp_path / "first")
    assert first["status"] == "failed"
    assert first["examples_to_failure"] >= 2  # the simplest example never has the bug
    stored = stored_failures(redis_url)
    assert 1 <= stored <= 2, f"the first run stored {stored} examples in Redis"

    second = run_campaign(redis_url, tmp_path / "second")
    assert second["status"] == "failed"
    # Found while replaying what the first run stored (1 example unless its shrink was cut).
    assert second["examples_to_failure"] <= stored
    # Nothing was shared through the output folders: Redis was the only database.
    assert not (tmp_path / "first" / ".hypothesis").exists()
    # No local example database: the failures went to Redis. (Hypothesis may still cache
    # the constants of changed local modules under .hypothesis/constants: not examples.)
    assert not (tmp_path / "second" / ".hypothesis" / "examples").exists()


def test_wirefault_fuzz_runs_share_failures_through_redis(redis_url: str, tmp_path: Path) -> None:
    first = run_fuzz(redis_url, tmp_path / "first")
    assert first["properties"] == {"malformed": "failed"}
    keys = stored_keys(redis_url)
    assert any(b":malformed:lenprefix:" in key for key in keys), keys

    second = run_fuzz(redis_url, tmp_path / "second")
    assert second["properties"] == {"malformed": "failed"}
    # The summary counts every example run, shrinking included: the second run starts
    # from the first's shrunk failure, so it has less to find and less to shrink.
    assert second["examples"] < first["examples"], (first["examples"], second["examples"])
    # No local example database: the failures went to Redis. (Hypothesis may still cache
    # the constants of changed local modules under .hypothesis/constants: not examples.)
    assert not (tmp_path / "second" / ".hypothesis" / "examples").exists()


def test_plugin_runs_share_failures_through_redis(
    redis_url: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = pytester.path / "examples-to-failure.txt"
    pytester.makepyfile(PLUGIN_TEST.format(record=str(record), server=SERVER))
    for key in [k for k in os.environ if k.startswith("PYTEST_XDIST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(REDIS_ENV, redis_url)
    stored = []
    for run in ("first", "second"):
        out = pytester.path / run
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--wirefault-backend", "embedded", "--wirefault-out", str(out)
        )
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*wirefault property 'malformed' failed*"])
        stored.append(stored_failures(redis_url))
    first, second = (int(line) for line in record.read_text().split())
    assert first >= 2
    assert 1 <= stored[0] <= 2
    assert second <= stored[0]  # found while replaying what the first run stored
