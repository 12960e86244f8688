"""Settings every test shares."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_KEY_DIR: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Replay files the tests sign use a key of their own, never the user's (~/.config)."""
    if "WIREFAULT_KEY_FILE" not in os.environ:
        _KEY_DIR.append(tempfile.mkdtemp(prefix="wirefault-test-key-"))
        os.environ["WIREFAULT_KEY_FILE"] = os.path.join(_KEY_DIR[0], "key")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the tests' key."""
    for path in _KEY_DIR:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop("WIREFAULT_KEY_FILE", None)
