"""Toxics as typed values: Toxiproxy's vocabulary, plus the embedded proxy's extras.

A toxic here is *configuration only* — plain frozen data with Toxiproxy's own
names, attributes, units and defaults. Per-connection state lives in the
backend that applies it (the embedded proxy's stubs, or Toxiproxy itself), so
one value serves any number of connections and replays exactly.

=============  ==========================================  ==================
type           attributes (units)                          backends
=============  ==========================================  ==================
latency        latency, jitter (ms)                        both
bandwidth      rate (KB/s, 1 KB = 1000 B)                  both
slow_close     delay (ms)                                  both
timeout        timeout (ms; 0 = drop data, never close)    both
reset_peer     timeout (ms)                                both
slicer         average_size, size_variation (B), delay µs  both
limit_data     bytes                                       both
noop           (none: forwards unchanged)                  both
down           (none: the whole proxy is down)             both (TCP, UDP)
split          offsets (B), delay (µs)                     embedded
corrupt        offsets (B), mask, indices                  embedded (TCP, UDP)
drop           indices, probability                        embedded (UDP)
duplicate      indices, probability, copies                embedded (UDP)
reorder        window                                      embedded (UDP)
delay          delay (ms), indices                         embedded (UDP)
truncate       size (B), indices                           embedded (UDP)
=============  ==========================================  ==================

Every toxic also has ``stream`` (``upstream`` = client to server,
``downstream`` = server to client, the default), ``toxicity`` (the probability
that it applies to a connection and direction) and ``name`` (default
``TYPE_STREAM``). Two fields only the embedded backend honours make every
random choice replayable: ``seed`` (seeds the toxicity draw, jitter and any
other randomness) and ``connection`` (apply to the n-th connection only,
counting from 0 in accept order among the connections accepted since the toxic
was added, so a scenario that adds its toxics first can aim at its own n-th
connection however long the proxy has been up).

``down`` is not a fault on the data but a state of the proxy, as Toxiproxy's
``enabled=false``: while it is applied the listener is closed and every
connection dropped; removing it brings the proxy back on the same address.
It lets a scenario take its proxy down for a while with the same add and
remove steps as any toxic.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, cast

from wirefault.errors import UsageError

__all__ = [
    "TOXICS",
    "AttrValue",
    "Bandwidth",
    "Corrupt",
    "Delay",
    "Down",
    "Drop",
    "Duplicate",
    "Latency",
    "LimitData",
    "Noop",
    "Reorder",
    "ResetPeer",
    "Slicer",
    "SlowClose",
    "Split",
    "Stream",
    "Timeout",
    "Toxic",
    "Truncate",
    "parse_toxic",
    "toxic_from_json",
]

Stream = Literal["upstream", "downstream"]
Backend = Literal["toxiproxy", "embedded"]
AttrValue = int | float | tuple[int, ...] | None
STREAMS: tuple[Stream, ...] = ("upstream", "downstream")
_COMMON = ("name", "stream", "toxicity", "seed", "connection")

T = TypeVar("T", bound="Toxic")

#: Registry of toxic classes by type name (``Latency.type == "latency"``).
TOXICS: dict[str, type[Toxic]] = {}


def _register(cls: type[T]) -> type[T]:
    TOXICS[cls.type] = cls
    return cls


@dataclass(frozen=True, kw_only=True)
class Toxic:
    """Fields every toxic has; subclasses add their attributes.

    Attributes:
        name: unique per proxy; empty means ``TYPE_STREAM``.
        stream: ``upstream`` (client to server) or ``downstream`` (server to client).
        toxicity: probability in [0, 1] that the toxic applies to a connection.
        seed: seeds every random choice (embedded backend); None = seed 0.
        connection: apply only to the n-th connection accepted since the toxic was added,
            from 0 (embedded backend).
    """

    type: ClassVar[str] = ""
    #: Backends able to apply this toxic.
    backends: ClassVar[frozenset[Backend]] = frozenset({"toxiproxy", "embedded"})
    #: Transports it applies to.
    transports: ClassVar[frozenset[str]] = frozenset({"tcp"})
    #: A state of the whole proxy (``down``), not a fault on its connections' data.
    proxy_level: ClassVar[bool] = False

    name: str = ""
    stream: Stream = "downstream"
    toxicity: float = 1.0
    seed: int | None = None
    connection: int | None = None

    def __post_init__(self) -> None:
        if self.stream not in STREAMS:
            raise UsageError(
                f"{self.type}: stream must be 'upstream' or 'downstream', got {self.stream!r}"
            )
        if not 0.0 <= self.toxicity <= 1.0:
            raise UsageError(f"{self.type}: toxicity must be in [0, 1], got {self.toxicity}")
        if self.connection is not None and self.connection < 0:
            raise UsageError(f"{self.type}: connection must be >= 0, got {self.connection}")
        for f in dataclasses.fields(self):
            if f.name in _COMMON:
                continue
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if isinstance(v, int | float) and v < 0:
                    raise UsageError(f"{self.type}: {f.name} must be >= 0, got {v}")

    @property
    def key(self) -> str:
        """The toxic's name on its proxy (``TYPE_STREAM`` unless named)."""
        return self.name or f"{self.type}_{self.stream}"

    def attributes(self) -> dict[str, AttrValue]:
        """The type-specific attributes, as Toxiproxy's API names them."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _COMMON
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :func:`toxic_from_json` reverses it."""
        out: dict[str, Any] = {
            "type": self.type,
            "name": self.key,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }
        if self.seed is not None:
            out["seed"] = self.seed
        if self.connection is not None:
            out["connection"] = self.connection
        out["attributes"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.attributes().items()
        }
        return out

    def describe(self) -> str:
        """A short human form such as ``latency(latency=200, jitter=20) downstream``."""
        attrs = ", ".join(f"{k}={v}" for k, v in self.attributes().items() if v is not None)
        extra = f" conn#{self.connection}" if self.connection is not None else ""
        tox = f" toxicity={self.toxicity}" if self.toxicity < 1.0 else ""
        return f"{self.type}({attrs}) {self.stream}{tox}{extra}"


# -- Toxiproxy's toxics -----------------------------------------------------------------


@_register
@dataclass(frozen=True, kw_only=True)
class Latency(Toxic):
    """Delay every chunk by ``latency`` ms, plus uniform jitter in [-jitter, +jitter) ms."""

    type: ClassVar[str] = "latency"
    latency: int = 0
    jitter: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Bandwidth(Toxic):
    """Limit the stream to ``rate`` KB/s (1 KB = 1000 bytes)."""

    type: ClassVar[str] = "bandwidth"
    rate: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class SlowClose(Toxic):
    """Delay the close (EOF) by ``delay`` ms."""

    type: ClassVar[str] = "slow_close"
    delay: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Timeout(Toxic):
    """Drop all data; close after ``timeout`` ms of it (idle timeout; 0 = never close)."""

    type: ClassVar[str] = "timeout"
    timeout: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class ResetPeer(Toxic):
    """After the first data or EOF, wait ``timeout`` ms and reset the connection (RST)."""

    type: ClassVar[str] = "reset_peer"
    timeout: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Slicer(Toxic):
    """Slice chunks to about ``average_size`` ± ``size_variation`` bytes, ``delay`` µs apart."""

    type: ClassVar[str] = "slicer"
    average_size: int = 0
    size_variation: int = 0
    delay: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class LimitData(Toxic):
    """Forward exactly ``bytes`` bytes per connection and direction, then close."""

    type: ClassVar[str] = "limit_data"
    bytes: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Noop(Toxic):
    """Forward everything unchanged (Toxiproxy's ``noop``)."""

    type: ClassVar[str] = "noop"


@_register
@dataclass(frozen=True, kw_only=True)
class Down(Toxic):
    """Take the whole proxy down while applied: listener closed, connections dropped.

    Toxiproxy's ``enabled=false`` as a toxic, so that a scenario can add and
    remove it like any other. ``stream`` does not matter; ``toxicity`` is the
    chance that the proxy goes down at all, drawn once from ``seed``.
    """

    type: ClassVar[str] = "down"
    transports: ClassVar[frozenset[str]] = frozenset({"tcp", "udp"})
    proxy_level: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.connection is not None:
            raise UsageError("down: connection= does not apply; down takes the whole proxy down")

    def goes_down(self) -> bool:
        """Whether the proxy goes down: the toxicity draw, the same for the same seed."""
        return random.Random(f"wirefault:{self.seed or 0}:down").random() < self.toxicity

    def describe(self) -> str:
        """``down (the whole proxy)``, with the toxicity when it is not 1."""
        tox = f" toxicity={self.toxicity}" if self.toxicity < 1.0 else ""
        return f"down (the whole proxy){tox}"


# -- Embedded extras: exact and seedable --------------------------------------------------

_EMBEDDED: frozenset[Backend] = frozenset({"embedded"})
_UDP = frozenset({"udp"})


@_register
@dataclass(frozen=True, kw_only=True)
class Split(Toxic):
    """Forward the stream cut at exact byte ``offsets`` (from stream start), ``delay`` µs apart.

    ``offsets=(1, 5)`` sends bytes [0, 1), [1, 5) and [5, ...) as separate writes.
    """

    type: ClassVar[str] = "split"
    backends: ClassVar[frozenset[Backend]] = _EMBEDDED
    offsets: tuple[int, ...] = ()
    delay: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Corrupt(Toxic):
    """XOR chosen bytes with ``mask``.

    TCP: ``offsets`` are positions in the stream. UDP: positions inside each
    datagram chosen by ``indices`` (None = every datagram); offsets past a
    datagram's end are ignored.
    """

    type: ClassVar[str] = "corrupt"
    backends: ClassVar[frozenset[Backend]] = _EMBEDDED
    transports: ClassVar[frozenset[str]] = frozenset({"tcp", "udp"})
    offsets: tuple[int, ...] = (0,)
    mask: int = 0xFF
    indices: tuple[int, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class _DatagramToxic(Toxic):
    """A UDP toxic applied to chosen datagrams: by index, then by seeded probability.

    ``indices`` counts datagrams per client flow and direction from 0; None selects
    every datagram. ``probability`` is drawn per selected datagram from ``seed``.
    """

    backends: ClassVar[frozenset[Backend]] = _EMBEDDED
    transports: ClassVar[frozenset[str]] = _UDP
    indices: tuple[int, ...] | None = None
    probability: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.probability <= 1.0:
            raise UsageError(f"{self.type}: probability must be in [0, 1], got {self.probability}")


@_register
@dataclass(frozen=True, kw_only=True)
class Drop(_DatagramToxic):
    """Lose the chosen datagrams."""

    type: ClassVar[str] = "drop"


@_register
@dataclass(frozen=True, kw_only=True)
class Duplicate(_DatagramToxic):
    """Send each chosen datagram ``copies`` extra times."""

    type: ClassVar[str] = "duplicate"
    copies: int = 1


@_register
@dataclass(frozen=True, kw_only=True)
class Delay(_DatagramToxic):
    """Hold each chosen datagram ``delay`` ms (later datagrams may overtake it)."""

    type: ClassVar[str] = "delay"
    delay: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Truncate(_DatagramToxic):
    """Cut each chosen datagram to its first ``size`` bytes."""

    type: ClassVar[str] = "truncate"
    size: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class Reorder(Toxic):
    """Hold datagrams in groups of ``window`` and release each group in reverse order.

    A group not filled within ``flush`` ms is released as it is, so nothing is lost.
    """

    type: ClassVar[str] = "reorder"
    backends: ClassVar[frozenset[Backend]] = _EMBEDDED
    transports: ClassVar[frozenset[str]] = _UDP
    window: int = 2
    flush: int = 50


# -- Parsing -------------------------------------------------------------------------------


def _field_types(cls: type[Toxic]) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(cls)}


def _coerce(cls: type[Toxic], key: str, raw: object) -> object:
    """Convert a text or JSON value to the field's declared type."""
    declared = _field_types(cls)[key]
    try:
        if "tuple" in declared:
            if raw is None or raw == "":
                return None if "None" in declared else ()
            if isinstance(raw, list | tuple):
                return tuple(int(x) for x in raw)
            if isinstance(raw, str):
                return tuple(int(x, 0) for x in raw.replace("/", " ").replace(";", " ").split())
            return (int(cast(int, raw)),)
        if declared.startswith("int"):
            if raw is None and "None" in declared:
                return None
            if isinstance(raw, str):
                return int(raw, 0)
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
                raise ValueError(raw)
            return int(raw)
        if declared.startswith("float"):
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(cast(str, raw))
        if declared.startswith("str") or declared.startswith("Stream"):
            if not isinstance(raw, str):
                raise ValueError(raw)
            return raw
    except (TypeError, ValueError):
        pass
    else:
        return raw
    raise UsageError(f"{cls.type}: attribute {key} takes {declared}, got {raw!r}")


def _build(cls: type[Toxic], values: Mapping[str, object]) -> Toxic:
    known = _field_types(cls)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UsageError(
            f"{cls.type}: unknown attribute {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )
    kwargs = {k: _coerce(cls, k, v) for k, v in values.items()}
    return cls(**kwargs)  # type: ignore[arg-type]


def _lookup(type_name: str) -> type[Toxic]:
    try:
        return TOXICS[type_name]
    except KeyError:
        raise UsageError(
            f"unknown toxic {type_name!r}; valid toxics: {', '.join(sorted(TOXICS))}"
        ) from None


def parse_toxic(text: str) -> Toxic:
    """Parse the command-line form ``TYPE:attr=value,attr=value``.

    Tuple attributes take values separated by ``/`` (``split:offsets=1/5``).

    Raises:
        UsageError: unknown type or attribute, or a value of the wrong type,
            with the valid choices in the message.
    """
    type_name, _, rest = text.strip().partition(":")
    cls = _lookup(type_name.strip())
    values: dict[str, object] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise UsageError(f"{cls.type}: expected attr=value, got {item!r} in {text!r}")
        values[key.strip()] = value.strip()
    return _build(cls, values)


def toxic_from_json(data: Mapping[str, Any]) -> Toxic:
    """Rebuild a toxic from :meth:`Toxic.to_json` output (or Toxiproxy's own JSON).

    Raises:
        UsageError: the dict is not a valid toxic.
    """
    if not isinstance(data, Mapping) or "type" not in data:
        raise UsageError(f"a toxic must be an object with a 'type', got {data!r}")
    cls = _lookup(str(data["type"]))
    values: dict[str, object] = {}
    for key in ("stream", "toxicity", "seed", "connection"):
        if key in data:
            values[key] = data[key]
    if data.get("name") and data["name"] != f"{cls.type}_{data.get('stream', 'downstream')}":
        values["name"] = data["name"]
    attrs = data.get("attributes", {})
    if not isinstance(attrs, Mapping):
        raise UsageError(f"{cls.type}: attributes must be an object, got {attrs!r}")
    values.update(attrs)
    return _build(cls, values)


_ = field  # re-exported for subclass authors who need default factories
