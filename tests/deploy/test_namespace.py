"""One import namespace: wirefault installs `wirefault` and nothing else at the top level.

A user's project very often has its own `strategies.py` (Hypothesis users), a
`harness/` package or a `targets.py`. None of them may shadow, or be shadowed
by, what wirefault installs.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # mypy, in the dev extra, brings tomli to 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
#: The source folders the repository was founded with, and where they are imported from.
FOLDERS = {
    "harness": "wirefault",
    "strategies": "wirefault.strategies",
    "targets": "wirefault.targets",
}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_no_top_level_name_but_wirefault_maps_to_the_distribution() -> None:
    owners = importlib.metadata.packages_distributions()
    claimed = sorted(name for name, dists in owners.items() if "wirefault" in dists)
    assert claimed == ["wirefault"]


def test_every_source_package_is_listed_under_its_wirefault_name() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    assert setuptools["package-dir"] == {v: k for k, v in FOLDERS.items()}
    on_disk = set()
    for folder, dotted in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((dotted, *parts)))
    assert set(setuptools["packages"]) == on_disk


def test_python_dash_m_wirefault_is_the_command() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "wirefault", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wirefault ")


def test_a_user_project_with_its_own_strategies_harness_and_targets_runs_the_plugin(
    pytester: pytest.Pytester,
) -> None:
    # The user's modules sit beside their tests, under the names wirefault's folders have.
    pytester.makepyfile(
        strategies="import hypothesis.strategies as st\nkeys = st.text(max_size=3)\n",
        targets="SERVERS = ['mine']\n",
    )
    pytester.mkpydir("harness").joinpath("helpers.py").write_text("VALUE = 42\n")
    pytester.makepyfile(
        test_user=f"""
        import sys

        import pytest
        from hypothesis import given

        import strategies
        import targets
        from harness.helpers import VALUE

        SERVE = {sys.executable!r} + " -m wirefault serve line --port {{port}}"

        @given(strategies.keys)
        def test_own_strategies(key):
            assert len(key) <= 3 and targets.SERVERS == ["mine"] and VALUE == 42

        @pytest.mark.wirefault(codec="line", properties=["pipelining", "reassembly"],
                               max_examples=5)
        def test_robust(wirefault_server, wirefault_check, wirefault_property):
            wirefault_check(wirefault_server(SERVE), wirefault_property)
        """
    )
    result = pytester.runpytest_subprocess("--wirefault-backend", "none", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
