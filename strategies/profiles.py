"""Hypothesis settings profiles for wirefault properties: ``ci``, ``dev``, ``thorough``.

Every profile turns off Hypothesis's per-example deadline (a scenario's time
is network time, bounded by the runner's own deadline) and the health checks
that network tests trip by nature: slow examples, large generated data, and
function-scoped fixtures such as a started server.
"""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import HealthCheck, settings

__all__ = ["PROFILES", "register_profiles"]

#: Short profile names (``--profile ci``) to the names registered with Hypothesis.
PROFILES: MappingProxyType[str, str] = MappingProxyType(
    {"ci": "wirefault-ci", "dev": "wirefault-dev", "thorough": "wirefault-thorough"}
)
#: Examples per property in each profile.
EXAMPLES: MappingProxyType[str, int] = MappingProxyType({"ci": 25, "dev": 100, "thorough": 1000})

_SUPPRESSED = (
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.function_scoped_fixture,
)


def register_profiles() -> None:
    """Register the ``wirefault-ci``, ``wirefault-dev`` and ``wirefault-thorough`` profiles.

    Idempotent: registering again gives the same profiles. Load one with
    ``settings.load_profile(PROFILES["ci"])`` or pass it to ``@settings``.

    Example::

        register_profiles()

        @settings(settings.get_profile(PROFILES["dev"]))
        @given(reassembly_scenarios(get_codec("line")))
        def test_server(scenario): ...
    """
    for short, registered in PROFILES.items():
        settings.register_profile(
            registered,
            max_examples=EXAMPLES[short],
            deadline=None,
            suppress_health_check=list(_SUPPRESSED),
            derandomize=False,
            print_blob=True,
        )
