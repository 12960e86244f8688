"""Servers to fuzz: reference servers done right, and the buggy zoo.

Every target is one module with ``NAME``, ``PROTOCOL`` (a codec name),
``TRANSPORT`` (``tcp`` or ``udp``), a one-line docstring and
``serve(host, port, ready)``; buggy ones add ``BUG`` (one line) and
``CAUGHT_BY`` (the property that finds it). A target whose protocol needs more
than a codec name may add ``CODEC_OPTIONS`` (a dict), ``PREAMBLE`` (the handshake
requests, a tuple of bytes: ``--preamble``) and ``REQUESTS`` (sample requests,
a tuple of bytes: ``--requests``). Reference servers are listed in
:data:`REFERENCE`; buggy ones are discovered in ``targets/buggy/``.

Run one with ``wirefault serve NAME``; list them with ``wirefault targets``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from wirefault.errors import TargetError, UsageError
from wirefault.targets._serving import TargetModule

if TYPE_CHECKING:
    from wirefault.codecs.base import Codec, OptionValue

__all__ = ["PROTOCOLS", "REFERENCE", "TargetInfo", "all_targets", "get_target", "target_names"]

REFERENCE: dict[str, str] = {
    "echo-threaded": "wirefault.targets.echo_threaded",
    "echo-selectors": "wirefault.targets.echo_selectors",
    "echo-asyncio": "wirefault.targets.echo_asyncio",
    "echo-forking": "wirefault.targets.echo_forking",
    "line": "wirefault.targets.line",
    "lenprefix": "wirefault.targets.lenprefix",
    "udp-echo": "wirefault.targets.udp_echo",
    "http": "wirefault.targets.http",
}
"""Reference server name -> module name."""

# The codec names of wirefault.codecs a target may declare as its PROTOCOL.
PROTOCOLS = ("raw", "line", "lenprefix", "lenfield", "http", "resp", "datagram")

_BUGGY_PACKAGE = "wirefault.targets.buggy"


@dataclass(frozen=True)
class TargetInfo:
    """What the registry knows about one target, read from its module.

    Attributes:
        name: the registry name (``wirefault serve NAME``).
        module: the dotted module name.
        protocol: the codec that speaks to it.
        transport: ``tcp`` or ``udp``.
        kind: ``reference`` or ``buggy``.
        summary: the first line of the module docstring.
        bug: the one-line bug (buggy only, else empty).
        caught_by: the property that catches the bug (buggy only, else empty).
        codec_options: options of ``protocol``'s codec (``CODEC_OPTIONS``).
        preamble: the handshake every connection sends first (``PREAMBLE``).
        requests: sample requests to fuzz with (``REQUESTS``).
    """

    name: str
    module: str
    protocol: str
    transport: Literal["tcp", "udp"]
    kind: Literal["reference", "buggy"]
    summary: str
    bug: str = ""
    caught_by: str = ""
    codec_options: Mapping[str, OptionValue] = field(default_factory=dict)
    preamble: tuple[bytes, ...] = ()
    requests: tuple[bytes, ...] = ()

    def codec(self) -> Codec:
        """The codec that speaks to it, with its options."""
        from wirefault.codecs import get_codec

        return get_codec(self.protocol, **self.codec_options)

    def load(self) -> TargetModule:
        """The target's module, to hand to :func:`wirefault.targets._serving.run_target`."""
        return cast(TargetModule, importlib.import_module(self.module))


def _describe(module_name: str, kind: Literal["reference", "buggy"]) -> TargetInfo:
    """Import a target module and check it follows the contract.

    Raises:
        TargetError: the module does not import or misses part of the contract.
    """
    contract = "NAME, PROTOCOL, TRANSPORT, a docstring and serve(host, port, ready)"
    if kind == "buggy":
        contract += ", BUG and CAUGHT_BY"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise TargetError(f"target module {module_name} does not import: {exc}") from exc
    texts = {}
    for attr in ("NAME", "PROTOCOL", "TRANSPORT") + (
        ("BUG", "CAUGHT_BY") if kind == "buggy" else ()
    ):
        value = getattr(module, attr, None)
        if not isinstance(value, str) or not value:
            raise TargetError(
                f"target module {module_name} has no {attr}; it must define {contract}"
            )
        texts[attr] = value
    if not callable(getattr(module, "serve", None)) or not module.__doc__:
        raise TargetError(f"target module {module_name} must define {contract}")
    transport = texts["TRANSPORT"]
    if transport not in ("tcp", "udp") or texts["PROTOCOL"] not in PROTOCOLS:
        raise TargetError(
            f"target module {module_name}: TRANSPORT must be tcp or udp and PROTOCOL one of "
            f"{', '.join(PROTOCOLS)}; got {transport!r} and {texts['PROTOCOL']!r}"
        )
    options, preamble, requests = _protocol_extras(module, module_name)
    return TargetInfo(
        codec_options=options,
        preamble=preamble,
        requests=requests,
        name=texts["NAME"],
        module=module_name,
        protocol=texts["PROTOCOL"],
        transport="udp" if transport == "udp" else "tcp",
        kind=kind,
        summary=module.__doc__.strip().splitlines()[0].replace("``", ""),
        bug=texts.get("BUG", ""),
        caught_by=texts.get("CAUGHT_BY", ""),
    )


def _protocol_extras(
    module: object, module_name: str
) -> tuple[dict[str, OptionValue], tuple[bytes, ...], tuple[bytes, ...]]:
    """``CODEC_OPTIONS``, ``PREAMBLE`` and ``REQUESTS``, empty when the module lacks them.

    Raises:
        TargetError: one of them has the wrong type.
    """
    options = getattr(module, "CODEC_OPTIONS", {})
    if not isinstance(options, dict):
        raise TargetError(f"target module {module_name}: CODEC_OPTIONS must be a dict")
    found: list[tuple[bytes, ...]] = []
    for attr in ("PREAMBLE", "REQUESTS"):
        value = getattr(module, attr, ())
        if not isinstance(value, tuple) or not all(isinstance(v, bytes) and v for v in value):
            raise TargetError(
                f"target module {module_name}: {attr} must be a tuple of non-empty bytes"
            )
        found.append(value)
    return options, found[0], found[1]


def _buggy_modules() -> list[str]:
    """Module names of ``targets/buggy/*.py``, private ones (``_x.py``) left out."""
    package = importlib.import_module(_BUGGY_PACKAGE)
    return sorted(
        f"{_BUGGY_PACKAGE}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_") and not info.ispkg
    )


def all_targets() -> tuple[TargetInfo, ...]:
    """Every target: the reference servers in :data:`REFERENCE` order, then the buggy zoo by name.

    Raises:
        TargetError: a target module breaks the contract, or two share a name.
    """
    infos = []
    for name, module in REFERENCE.items():
        info = _describe(module, "reference")
        if info.name != name:
            raise TargetError(f"{module} says NAME={info.name!r} but REFERENCE calls it {name!r}")
        infos.append(info)
    buggy = sorted((_describe(m, "buggy") for m in _buggy_modules()), key=lambda i: i.name)
    seen: dict[str, str] = {}
    for info in [*infos, *buggy]:
        if info.name in seen:
            raise TargetError(
                f"two targets are named {info.name!r}: {seen[info.name]} and {info.module}; "
                "rename one of them"
            )
        seen[info.name] = info.module
    return (*infos, *buggy)


def target_names() -> list[str]:
    """The names ``wirefault serve`` accepts, in listing order."""
    return [info.name for info in all_targets()]


def get_target(name: str) -> TargetInfo:
    """The target called ``name``.

    Raises:
        UsageError: no target has that name; the message lists the valid ones.
        TargetError: a target module breaks the contract.
    """
    if name in REFERENCE:
        return _describe(REFERENCE[name], "reference")
    # A buggy target's module is usually its name's (buggy-fd-leak: buggy/fd_leak.py):
    # found there, no other module is imported (each costs ``wirefault serve`` start-up
    # time, after every crash).
    guess = f"{_BUGGY_PACKAGE}.{name.removeprefix('buggy-').replace('-', '_')}"
    if name.startswith("buggy-") and guess in _buggy_modules():
        info = _describe(guess, "buggy")
        if info.name == name:
            return info
    for info in all_targets():
        if info.name == name:
            return info
    raise UsageError(
        f"unknown target {name!r}; choose one of: {', '.join(target_names())} "
        "(see wirefault targets)"
    )
