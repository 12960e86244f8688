"""Hypothesis strategies for fuzzing network servers, usable in your own ``@given`` tests.

One module per concept, every factory keyword-only (after its subject: a codec
or some data), typed and documented with an example. Strategies are built in
the shape wanted rather than filtered into it, so shrinking reaches the plain
case: one chunk, no pause, no toxic, an empty payload, one frame.

=============  ====================================================================
module         gives
=============  ====================================================================
payloads       request payloads, small or large (sizes at the edges)
frames         runs of valid requests with their wire bytes
http           valid HTTP/1.1 requests of many shapes (the http codec's requests)
http_malformed malformed HTTP requests with their valid twins and rules
malformed      malformed requests per codec, and garbage
samples        requests made from sample requests: as they are, mutated, re-framed
chunking       ways to cut bytes into writes
timing         pauses between writes, stalls beyond a deadline
connections    abort positions and the step sequences clients perform
toxics         fault schedules for Toxiproxy or the embedded proxy
datagrams      edge-size datagrams, sequences, UDP toxics
scenarios      one scenario builder per wirefault property
growth         scenarios of the growth property (one shape at doubling sizes)
strictness     scenarios of the strictness property (a malformed HTTP request and its twin)
profiles       the ``ci``, ``dev`` and ``thorough`` settings profiles
=============  ====================================================================

``payloads`` and ``datagrams`` name both a module and its factory; the
package attribute is the factory (import module contents with
``from wirefault.strategies.payloads import ...``).

Example::

    from hypothesis import given
    from wirefault.codecs import get_codec
    from wirefault.strategies import chunkings, requests

    @given(requests(get_codec("line")).flatmap(lambda r: chunkings(r.data)))
    def test_my_parser(chunks: tuple[bytes, ...]) -> None:
        ...
"""

from __future__ import annotations

import inspect
from importlib import import_module
from types import ModuleType

from wirefault.strategies.chunking import byte_at_a_time, chunkings, coalesced, cut_at
from wirefault.strategies.connections import (
    abort_points,
    aborted_after,
    exchange,
    half_close,
    probe_steps,
)
from wirefault.strategies.datagrams import datagram_sequences, datagram_toxic_schedules, datagrams
from wirefault.strategies.frames import Requests, requests
from wirefault.strategies.growth import (
    REPEATS,
    SIZES,
    GrowthShape,
    growth_scenarios,
    growth_shapes,
    shape_name,
)
from wirefault.strategies.http import HttpMessage, http_messages
from wirefault.strategies.http_malformed import HttpCase, RequestHead, http_cases
from wirefault.strategies.malformed import MalformedFrame, malformed_frames
from wirefault.strategies.payloads import large_payloads, payloads
from wirefault.strategies.profiles import PROFILES, register_profiles
from wirefault.strategies.samples import sample_frames, sample_malformations
from wirefault.strategies.scenarios import (
    datagram_fault_scenarios,
    datagram_reply_scenarios,
    datagram_size_scenarios,
    echo_scenarios,
    half_close_scenarios,
    large_payload_scenarios,
    malformed_cases,
    malformed_scenarios,
    pipelining_scenarios,
    reassembly_scenarios,
    reset_scenarios,
    stall_scenarios,
)
from wirefault.strategies.strictness import MARKER, request_head, rule_of, strictness_scenarios
from wirefault.strategies.timing import pauses, stalls
from wirefault.strategies.toxics import toxic_schedules

__all__ = [
    "MARKER",
    "PROFILES",
    "REPEATS",
    "SIZES",
    "GrowthShape",
    "HttpCase",
    "HttpMessage",
    "MalformedFrame",
    "RequestHead",
    "Requests",
    "abort_points",
    "aborted_after",
    "byte_at_a_time",
    "chunkings",
    "coalesced",
    "cut_at",
    "datagram_fault_scenarios",
    "datagram_reply_scenarios",
    "datagram_sequences",
    "datagram_size_scenarios",
    "datagram_toxic_schedules",
    "datagrams",
    "echo_scenarios",
    "exchange",
    "growth_scenarios",
    "growth_shapes",
    "half_close",
    "half_close_scenarios",
    "http_cases",
    "http_messages",
    "large_payload_scenarios",
    "large_payloads",
    "malformed_cases",
    "malformed_frames",
    "malformed_scenarios",
    "pauses",
    "payloads",
    "pipelining_scenarios",
    "probe_steps",
    "reassembly_scenarios",
    "register_profiles",
    "request_head",
    "requests",
    "reset_scenarios",
    "rule_of",
    "sample_frames",
    "sample_malformations",
    "shape_name",
    "stall_scenarios",
    "stalls",
    "strictness_scenarios",
    "toxic_schedules",
]

#: The modules whose public factories the package re-exports.
_MODULES = (
    "_datagram_scenarios",  # re-exported by scenarios
    "chunking",
    "connections",
    "datagrams",
    "frames",
    "growth",
    "http",
    "http_malformed",
    "malformed",
    "payloads",
    "profiles",
    "samples",
    "scenarios",
    "strictness",
    "timing",
    "toxics",
)


def _defined(module: ModuleType) -> set[str]:
    """Public functions and classes defined in ``module`` itself."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    }


def _check_exports() -> None:
    """Every public factory is exported once, and nothing else is (checked at import)."""
    exported: set[str] = set()
    for module_name in _MODULES:
        module = import_module(f"{__name__}.{module_name}")
        declared = set(getattr(module, "__all__", ()))
        missing = _defined(module) - declared
        if missing:
            raise ImportError(f"{module.__name__}: public {sorted(missing)} not in its __all__")
        exported |= declared
    if exported != set(__all__):
        raise ImportError(
            "wirefault.strategies.__all__ does not match its modules: "
            f"missing {sorted(exported - set(__all__))}, extra {sorted(set(__all__) - exported)}"
        )
    # ``payloads`` and ``datagrams`` name both a module and its factory: the factory wins.
    shadowed = sorted(name for name in __all__ if inspect.ismodule(globals()[name]))
    if shadowed:
        raise ImportError(f"strategies: {shadowed} are modules, not the factories of that name")


_check_exports()
