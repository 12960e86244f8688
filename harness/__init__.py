"""wirefault: property-based fuzzing and fault injection for TCP and UDP servers.

The engine: sans-I/O codecs (:mod:`wirefault.codecs`), a fault layer in front of
the server (:mod:`wirefault.faults`: the real Toxiproxy or an embedded asyncio
proxy), scenarios played by a runner into transcripts, generic properties that
judge transcripts, campaigns that drive Hypothesis, the ``wirefault`` command
and a pytest plugin.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
