"""Shared pieces of the verdict tests: campaigns on one server, malformed scenarios by hand."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from wirefault.campaign import Campaign, CampaignConfig
from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.faults.base import FaultLayer
from wirefault.properties import Property, get_property
from wirefault.scenario import Close, Expect, HalfClose, Scenario, Send, Step
from wirefault.target import ServerProcess

#: A short deadline: the servers here wait on purpose, and every wait costs one.
DEADLINE = 0.5
SERVERS = Path(__file__).with_name("verdict_servers.py")


def server_command(kind: str) -> str:
    """The command that runs verdict_servers.py KIND on ``{port}``."""
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(SERVERS))} {kind} {{port}}"


def zoo_command(name: str) -> str:
    """The command that runs the target NAME (``wirefault serve``) on ``{port}``."""
    return f"{shlex.quote(sys.executable)} -m wirefault serve {name} --port {{port}}"


def campaign(
    server: ServerProcess,
    codec: Codec | str,
    tmp_path: Path,
    *props: str,
    probe: bytes | None = None,
    fault_layer: FaultLayer | None = None,
    fallback: bool = False,
    **options: object,
) -> Campaign:
    """A campaign of ``props`` against ``server`` (the ci profile, seeded, no database)."""
    chosen: tuple[Property, ...] = tuple(get_property(p) for p in props) or (
        get_property("liveness"),
    )
    config = CampaignConfig(
        address=server.address,
        codec=get_codec(codec) if isinstance(codec, str) else codec,
        properties=chosen,
        deadline=float(options.pop("deadline", DEADLINE)),  # type: ignore[arg-type]
        out_dir=tmp_path,
        seed=1,
        probe=probe,
        start=server.command,
        backend=fault_layer.backend if fault_layer else None,
        fallback=fallback,
        **options,  # type: ignore[arg-type]
    )
    return Campaign(config, server=server, fault_layer=fault_layer)


def malformed(kind: str, data: bytes, probe: bytes, *, half_close: bool = False) -> Scenario:
    """The shape malformed_scenarios draws: c0 sends ``data`` (then maybe SHUT_WR); c1 probes."""
    steps: list[Step] = [Send(conn=0, chunks=(data,))]
    if half_close:
        steps.append(HalfClose(conn=0))
    steps += [Expect(conn=0, count=1), Close(conn=0)]
    steps += [Send(conn=1, chunks=(probe,)), Expect(conn=1, count=1), Close(conn=1)]
    return Scenario(steps=tuple(steps), meta=(("malformed", kind), ("malformed_step", "0")))
