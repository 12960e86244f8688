"""The package: exports checked at import, strategies built rather than filtered, profiles."""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from wirefault import strategies
from wirefault.strategies import PROFILES, register_profiles

PACKAGE = Path(strategies.__file__).parent
SOURCES = sorted(PACKAGE.glob("*.py"))


def test_every_export_is_a_documented_factory_not_a_module() -> None:
    # ``payloads`` and ``datagrams`` are also module names: the factories must win.
    assert len(strategies.__all__) == len(set(strategies.__all__))
    for name in strategies.__all__:
        exported = getattr(strategies, name)
        assert not isinstance(exported, ModuleType), name
        if callable(exported):
            assert exported.__doc__, f"{name} has no docstring"


def test_every_factory_documents_an_example() -> None:
    for name in strategies.__all__:
        exported = getattr(strategies, name)
        if inspect.isfunction(exported) and name != "register_profiles":
            assert "Example" in (exported.__doc__ or "") or ">>>" in (exported.__doc__ or ""), name


def test_the_import_check_catches_an_unexported_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    from wirefault.strategies import timing

    def jitters() -> None:
        """A public factory someone forgot to export."""

    jitters.__module__ = timing.__name__
    monkeypatch.setattr(timing, "jitters", jitters, raising=False)
    with pytest.raises(
        ImportError, match=r"wirefault\.strategies\.timing: public \['jitters'\] not in"
    ):
        strategies._check_exports()


def test_the_import_check_catches_a_stale_package_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strategies, "__all__", [*strategies.__all__, "gone"])
    with pytest.raises(ImportError, match=r"extra \['gone'\]"):
        strategies._check_exports()


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_strategy_is_filtered_into_shape(path: Path) -> None:
    calls = _calls(ast.parse(path.read_text()))
    assert not calls & {"filter", "assume", "reject"}, f"{path.name} filters: {calls}"


def test_factories_take_keyword_only_options() -> None:
    for name in strategies.__all__:
        exported = getattr(strategies, name)
        if not inspect.isfunction(exported):
            continue
        params = list(inspect.signature(exported).parameters.values())
        # The subject (a codec, data, a connection number) may be positional; options never.
        options = [p for p in params if p.default is not inspect.Parameter.empty]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in options), name


def test_profiles_are_registered_with_their_budgets() -> None:
    register_profiles()
    register_profiles()  # idempotent
    assert dict(PROFILES) == {
        "ci": "wirefault-ci",
        "dev": "wirefault-dev",
        "thorough": "wirefault-thorough",
    }
    budgets = {short: settings.get_profile(name).max_examples for short, name in PROFILES.items()}
    assert budgets == {"ci": 25, "dev": 100, "thorough": 1000}


@pytest.mark.parametrize("short", ["ci", "dev", "thorough"])
def test_profiles_suit_network_tests(short: str) -> None:
    register_profiles()
    profile = settings.get_profile(PROFILES[short])
    assert profile.deadline is None
    assert profile.derandomize is False
    assert profile.print_blob is True
    assert {
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    } <= set(profile.suppress_health_check)


@pytest.mark.parametrize("module", ["chunking", "connections"])
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"wirefault.strategies.{module}"))
    assert result.attempted > 0
    assert result.failed == 0
