"""The library side of the pytest plugin: server pools and the property check.

Kept apart from :mod:`wirefault.pytest_plugin` so the plugin module stays thin
and so these pieces can be used from any test runner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wirefault.addresses import Address, parse_address
from wirefault.errors import UsageError
from wirefault.target import ServerProcess

__all__ = [
    "CheckFunction",
    "ServerFactory",
    "ServerPool",
    "make_check",
    "marker_options",
    "property_names_for",
]

_CHECK_KEYS = frozenset(
    {
        "codec",
        "properties",
        "oracles",
        "max_examples",
        "deadline",
        "probe",
        "greeting",
        "time_budget",
        "seed",
        "shrink_budget",
        "requests",
        "preamble",
    }
)


class ServerFactory(Protocol):
    """``wirefault_server(command, *, transport="tcp", host="127.0.0.1")``."""

    def __call__(self, command: str, *, transport: str = ..., host: str = ...) -> ServerProcess:
        """Start (or reuse) the server started by ``command``."""


class CheckFunction(Protocol):
    """``wirefault_check(target, property=None, **options)``."""

    def __call__(
        self, target: ServerProcess | Address | str, prop: str | None = ..., **options: Any
    ) -> Any:
        """Run properties against ``target``; fail the test on a failure."""


@dataclass
class ServerPool:
    """One server command's process for a pytest worker, restarted after a crash."""

    command: str
    transport: str = "tcp"
    host: str = "127.0.0.1"
    _server: ServerProcess | None = field(default=None, init=False)

    def get(self) -> ServerProcess:
        """The running server, started (or restarted after a crash) as needed."""
        if self._server is None:
            self._server = ServerProcess(self.command, Address(self.transport, self.host, 0))  # type: ignore[arg-type]
            self._server.start()
        elif not self._server.alive():
            self._server.restart()
        return self._server

    def take_crash(self) -> str | None:
        """Describe the crash if the server has died since it was last handed out."""
        if self._server is None:
            return None
        crash = self._server.poll_crash()
        return crash.describe() if crash else None

    def close(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.close()
            self._server = None


def marker_options(marker: Any) -> dict[str, Any]:
    """The keyword arguments of a ``wirefault`` marker (empty without one).

    Raises:
        UsageError: the marker has positional arguments.
    """
    if marker is None:
        return {}
    if marker.args:
        raise UsageError(
            "@pytest.mark.wirefault takes keyword arguments only, "
            "e.g. @pytest.mark.wirefault(codec='line', properties=['reassembly'])"
        )
    return dict(marker.kwargs)


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(campaign options, codec options)."""
    check = {k: v for k, v in options.items() if k in _CHECK_KEYS}
    codec = {k: v for k, v in options.items() if k not in _CHECK_KEYS}
    return check, codec


def property_names_for(options: Mapping[str, Any]) -> list[str]:
    """The property names a marker selects for its codec."""
    from wirefault.codecs import get_codec
    from wirefault.properties import select_properties

    check, codec_options = _split(options)
    codec = get_codec(str(check.get("codec", "raw")), **codec_options)
    props = select_properties(
        codec, check.get("properties"), oracles=list(check.get("oracles", ()))
    )
    return [p.name for p in props]


def make_check(
    *,
    defaults: Mapping[str, Any],
    fault_layer: Any,
    profile: str,
    out_dir: Path,
    label: str,
    fail: Callable[[str], Any] | None = None,
) -> CheckFunction:
    """Build the ``wirefault_check`` function for one test."""

    def check(
        target: ServerProcess | Address | str, prop: str | None = None, **options: Any
    ) -> Any:
        from wirefault.campaign import Campaign, CampaignConfig
        from wirefault.codecs import get_codec
        from wirefault.database import example_database
        from wirefault.properties import select_properties

        merged = {**defaults, **options}
        check_opts, codec_options = _split(merged)
        codec = get_codec(str(check_opts.get("codec", "raw")), **codec_options)
        names = [prop] if prop else check_opts.get("properties")
        props = select_properties(codec, names, oracles=list(check_opts.get("oracles", ())))
        server = target if isinstance(target, ServerProcess) else None
        if server is not None:
            address = server.address
        elif isinstance(target, Address):
            address = target
        else:
            address = parse_address(str(target))
        probe = check_opts.get("probe")
        samples = _samples(check_opts.get("requests"), codec, address)
        config = CampaignConfig(
            address=address,
            codec=codec,
            properties=tuple(props),
            profile=profile,
            max_examples=check_opts.get("max_examples"),
            time_budget=check_opts.get("time_budget"),
            seed=check_opts.get("seed"),
            deadline=float(check_opts.get("deadline", 1.0)),
            out_dir=out_dir,
            label=label,
            greeting=bool(check_opts.get("greeting", False)),
            probe=probe.encode() if isinstance(probe, str) else probe,
            start=server.command if server else None,
            shrink_budget=float(check_opts.get("shrink_budget", 30.0)),
            samples=samples,
            preamble=_preamble(check_opts.get("preamble")),
        )
        with contextlib.ExitStack() as stack:
            layer = fault_layer
            if codec.transport == "datagram" and getattr(layer, "backend", None) != "embedded":
                # Toxiproxy is TCP only: UDP faults always come from the embedded proxy.
                from wirefault.faults import open_fault_layer

                layer = stack.enter_context(open_fault_layer("embedded", transport="udp"))
            campaign = Campaign(
                config, server=server, fault_layer=layer, database=example_database(out_dir)
            )
            result = campaign.run()
        if result.failures:
            report = failure_report(result)
            if fail is not None:
                fail(report)
            import pytest

            pytest.fail(report, pytrace=False)
        return result

    return check


def _samples(value: Any, codec: Any, address: Address) -> tuple[bytes, ...]:
    """``requests=``: a request file (text or pcap) or a list of whole requests.

    Raises:
        UsageError: an unreadable file or a request the codec cannot frame.
    """
    from wirefault.samples import frame_requests, load_requests

    if value is None:
        return ()
    if isinstance(value, str | Path):
        port = address.port if address.transport != "unix" and address.port else None
        udp = address.transport == "udp"
        return load_requests(Path(value), codec, port=port, transport="udp" if udp else "tcp")
    if isinstance(value, list | tuple) and all(isinstance(v, bytes) for v in value) and value:
        return tuple(
            frame
            for i, request in enumerate(value)
            for frame in frame_requests(codec, request, f"requests=[...][{i}]")
        )
    raise UsageError(
        f"wirefault marker requests= takes a file path or a non-empty list of bytes, "
        f"got {value!r:.60}"
    )


def _preamble(value: Any) -> tuple[bytes, ...]:
    """``preamble=``: bytes, text in the escape syntax (``@FILE`` too), or a list of bytes."""
    from wirefault.samples import load_preamble

    if value is None:
        return ()
    if isinstance(value, bytes) and value:
        return (value,)
    if isinstance(value, str):
        return load_preamble(value)
    if isinstance(value, list | tuple) and value and all(isinstance(v, bytes) for v in value):
        return tuple(value)
    raise UsageError(
        f"wirefault marker preamble= takes bytes, escaped text, '@FILE' or a list of bytes, "
        f"got {value!r:.60}"
    )


def failure_report(result: Any) -> str:
    """What a failed test shows: property, message, minimal scenario, replay command."""
    from wirefault.report.summary import scenario_size_words

    lines: list[str] = []
    for f in result.failures:
        lines.append(f"wirefault property {f.property!r} failed ({f.kind}): {f.message}")
        lines.append(
            f"minimal scenario ({scenario_size_words(f.scenario)}; reproduced "
            f"{f.agreement[1]}/{f.agreement[0]} replays):"
        )
        lines.extend(f"    {line}" for line in f.scenario.describe())
        if f.replay:
            lines.append(f"replay file: {f.replay}")
            lines.append(f"reproduce:   wirefault replay {f.replay}")
            lines.append(f"inspect:     wirefault show {f.replay}")
    return "\n".join(lines)
