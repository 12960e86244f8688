"""Shared pieces of the engine tests: start a target, run a campaign on it."""

from __future__ import annotations

import sys
from pathlib import Path

from wirefault.addresses import Address
from wirefault.campaign import Campaign, CampaignConfig, CampaignResult
from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.faults.base import FaultLayer
from wirefault.properties import Property
from wirefault.target import ServerProcess


def serve_command(name: str) -> str:
    """The command that starts target ``name`` on ``{port}``."""
    return f"{sys.executable} -m wirefault serve {name} --port {{port}}"


def start_target(name: str, transport: str) -> ServerProcess:
    """Start target ``name`` on a free loopback port (the caller closes it)."""
    server = ServerProcess(serve_command(name), Address(transport, "127.0.0.1", 0))  # type: ignore[arg-type]
    server.start()
    return server


def run_campaign(
    server: ServerProcess,
    protocol: str | Codec,
    props: list[Property],
    out_dir: Path,
    *,
    max_examples: int | None = None,
    seed: int = 0,
    deadline: float = 1.0,
    fault_layer: FaultLayer | None = None,
    shrink_budget: float = 8.0,
    verify: int = 3,
    samples: tuple[bytes, ...] = (),
    preamble: tuple[bytes, ...] = (),
    probe: bytes | None = None,
) -> CampaignResult:
    """Run ``props`` against ``server`` under the ``ci`` profile, no example database.

    ``protocol`` is a codec name or a codec (one with options); ``samples`` and
    ``preamble`` are ``--requests`` and ``--preamble``.
    """
    config = CampaignConfig(
        address=server.address,
        codec=get_codec(protocol) if isinstance(protocol, str) else protocol,
        properties=tuple(props),
        profile="ci",
        max_examples=max_examples,
        seed=seed,
        deadline=deadline,
        out_dir=out_dir,
        shrink_budget=shrink_budget,
        verify=verify,
        start=server.command,
        samples=samples,
        preamble=preamble,
        probe=probe,
    )
    return Campaign(config, server=server, fault_layer=fault_layer).run()
