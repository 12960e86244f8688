"""wirefault's pytest plugin (registered through the ``pytest11`` entry point).

Options, all under the ``wirefault`` group:

* ``--wirefault-backend`` (or ``WIREFAULT_BACKEND``): fault backend, default ``auto``;
* ``--wirefault-profile``: Hypothesis profile ``ci``, ``dev`` or ``thorough``;
* ``--wirefault-out``: where replay files go (default ``wirefault-out``).
"""

from __future__ import annotations

import os

import pytest

__all__ = ["pytest_addoption", "pytest_configure"]

BACKEND_OPTION = "--wirefault-backend"
PROFILE_OPTION = "--wirefault-profile"
OUT_OPTION = "--wirefault-out"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--wirefault-*`` options."""
    group = parser.getgroup("wirefault", "wirefault: fuzzing and fault injection for servers")
    group.addoption(
        BACKEND_OPTION,
        choices=("auto", "embedded", "toxiproxy"),
        default=os.environ.get("WIREFAULT_BACKEND", "auto"),
        help="fault backend for wirefault fixtures (default: $WIREFAULT_BACKEND or auto)",
    )
    group.addoption(
        PROFILE_OPTION,
        choices=("ci", "dev", "thorough"),
        default=None,
        help="Hypothesis profile for wirefault properties (default: ci under CI, else dev)",
    )
    group.addoption(OUT_OPTION, default="wirefault-out", help="where replay files go")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``wirefault`` marker."""
    config.addinivalue_line(
        "markers",
        "wirefault(codec, properties): run wirefault properties against the test's server",
    )
