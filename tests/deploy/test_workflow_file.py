""".github/workflows/ci.yml, checked without GitHub: matrix, tox envs, required components."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import yaml  # in the dev extra

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
MATRIX_TOXENV = "${{ matrix.toxenv }}"


def load_workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def jobs() -> dict[str, dict[str, Any]]:
    found = load_workflow()["jobs"]
    assert isinstance(found, dict) and found
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def run_lines(job: dict[str, Any]) -> list[str]:
    return [line.strip() for step in steps(job) for line in str(step.get("run", "")).splitlines()]


def tox_env_names() -> set[str]:
    """Every env tox.ini defines: env_list entries and [testenv:NAME] sections."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    listed = re.split(r"[\s,]+", parser["tox"]["env_list"].strip())
    named = {s.split(":", 1)[1] for s in parser.sections() if s.startswith("testenv:")}
    return {name for name in listed if name} | named


def tox_envs_run(job: dict[str, Any], matrix_entry: dict[str, str] | None) -> list[str]:
    """The envs each ``tox -e`` line of ``job`` runs, with ``matrix.toxenv`` filled in."""
    envs: list[str] = []
    for line in run_lines(job):
        if matrix_entry is not None:
            line = line.replace(MATRIX_TOXENV, matrix_entry["toxenv"])
        words = shlex.split(line)
        if words[:1] == ["tox"]:
            envs.extend(words[words.index("-e") + 1].split(","))
    return envs


def matrix_entries(job: dict[str, Any]) -> list[dict[str, str]]:
    matrix = job.get("strategy", {}).get("matrix", {})
    return list(matrix.get("include", []))


def test_it_runs_on_pushes_and_pull_requests() -> None:
    # YAML 1.1 reads the key `on` as True.
    triggers = load_workflow()[True]
    assert {"push", "pull_request"} <= set(triggers)


def test_the_matrix_covers_every_supported_python_as_strings() -> None:
    (job,) = [j for j in jobs().values() if matrix_entries(j)]
    versions = [entry["python"] for entry in matrix_entries(job)]
    # A float here (3.1 for an unquoted 3.10) would install the wrong Python.
    assert all(isinstance(v, str) for v in versions), versions
    assert sorted(versions, key=lambda v: tuple(map(int, v.split(".")))) == list(SUPPORTED)
    (setup,) = [s for s in steps(job) if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup["with"]["python-version"] == "${{ matrix.python }}"


def test_each_matrix_python_runs_its_own_tox_env_with_lint_and_type() -> None:
    (job,) = [j for j in jobs().values() if matrix_entries(j)]
    for entry in matrix_entries(job):
        assert entry["toxenv"] == "py" + entry["python"].replace(".", "")
        assert tox_envs_run(job, entry) == [entry["toxenv"], "lint", "type"]


def test_every_tox_env_the_workflow_runs_is_defined_in_tox_ini() -> None:
    defined = tox_env_names()
    for job in jobs().values():
        for entry in matrix_entries(job) or [None]:
            envs = tox_envs_run(job, entry)
            assert envs, "a job that runs no tox"
            assert set(envs) <= defined, f"not in tox.ini: {set(envs) - defined}"


def test_the_slow_toxiproxy_and_examples_envs_run_somewhere() -> None:
    everywhere = {
        env
        for job in jobs().values()
        for entry in matrix_entries(job) or [None]
        for env in tox_envs_run(job, entry)
    }
    assert {"slow", "toxiproxy", "examples"} <= everywhere


def test_missing_interpreters_fail_instead_of_being_skipped() -> None:
    for job in jobs().values():
        for line in run_lines(job):
            if line.startswith("tox "):
                assert "--skip-missing-interpreters false" in line, line


def test_real_components_are_required() -> None:
    env = load_workflow()["env"]
    assert env["WIREFAULT_REQUIRE_TOXIPROXY"] == "1"
    assert env["WIREFAULT_REQUIRE_PEERS"] == "1"


def test_every_job_installs_toxiproxy_redis_and_nginx() -> None:
    assert (ROOT / "scripts" / "install-toxiproxy.sh").is_file()
    for name, job in jobs().items():
        lines = run_lines(job)
        assert any("bash scripts/install-toxiproxy.sh" in line for line in lines), name
        apt = [line for line in lines if "apt-get install" in line]
        assert apt and {"redis-server", "nginx"} <= set(apt[0].split()), name
        uses = [str(s.get("uses", "")) for s in steps(job)]
        assert any(u.startswith("actions/setup-go@") for u in uses), name


def test_no_toxiproxy_service_container() -> None:
    # A service container sits on a bridge network and cannot dial the servers
    # the tests start on the runner's 127.0.0.1 (see the comment in ci.yml).
    for name, job in jobs().items():
        assert "services" not in job, name
