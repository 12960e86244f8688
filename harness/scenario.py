"""Scenarios: what the client side does, as plain data that replays exactly.

A :class:`Scenario` is a sequence of steps over numbered connections (``conn``
0, 1, ...) plus the toxics active for its whole length. A connection opens on
its first step (or an explicit :class:`Open`). Every step is a frozen
dataclass; a scenario converts to JSON and back without loss
(:meth:`Scenario.to_json`, :meth:`Scenario.from_json`), which is what replay
files hold.

For UDP, a connection is one client socket, each chunk of a :class:`Send` is
one datagram, and :class:`Expect` counts datagrams.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from wirefault.errors import ReplayError, UsageError
from wirefault.faults.toxics import Toxic, toxic_from_json
from wirefault.wire import bytes_from_json, bytes_to_json

__all__ = [
    "Abort",
    "AddToxic",
    "Close",
    "Expect",
    "ExpectClose",
    "HalfClose",
    "Open",
    "Pause",
    "RemoveToxic",
    "Scenario",
    "Send",
    "Step",
]


@dataclass(frozen=True)
class Step:
    """Base of every step; ``op`` names the step in JSON."""

    op: ClassVar[str] = ""

    def describe(self) -> str:
        """A short human-readable form, used in reports and ``wirefault show``."""
        return self.op


@dataclass(frozen=True)
class Open(Step):
    """Open connection ``conn`` (TCP_NODELAY on); ``rcvbuf`` shrinks its receive buffer.

    A small ``rcvbuf`` with no :class:`Expect` models a client that stops reading.
    ``direct`` connects to the server itself even when the scenario plays through a
    fault proxy: a baseline the scenario's toxics must not touch.
    """

    op: ClassVar[str] = "open"
    conn: int = 0
    rcvbuf: int | None = None
    direct: bool = False

    def describe(self) -> str:
        extra = f" rcvbuf={self.rcvbuf}" if self.rcvbuf else ""
        if self.direct:
            extra += " direct (past the fault proxy)"
        return f"c{self.conn} open{extra}"


@dataclass(frozen=True)
class Send(Step):
    """Write ``chunks`` on ``conn`` as separate writes, each meant to be read on its own.

    For a server on this machine each chunk goes out once the server has read
    the previous one (see :mod:`wirefault.pacing`); ``pause`` is the gap slept
    instead when that cannot be seen (a remote server). A pause that means time
    passing is a :class:`Pause` step. For UDP each chunk is one datagram.
    """

    op: ClassVar[str] = "send"
    conn: int = 0
    chunks: tuple[bytes, ...] = ()
    pause: float = 0.0

    @property
    def data(self) -> bytes:
        """All the bytes this step sends."""
        return b"".join(self.chunks)

    def describe(self) -> str:
        sizes = ",".join(str(len(c)) for c in self.chunks)
        pause = f" pause={self.pause:g}s" if self.pause and len(self.chunks) > 1 else ""
        return f"c{self.conn} send {len(self.data)}B as [{sizes}]{pause} {_preview(self.data)}"


@dataclass(frozen=True)
class Expect(Step):
    """Read from ``conn`` until ``count`` more response frames arrive (or the deadline).

    ``recv_size`` (bytes per ``recv``, 0 = 64 KiB) and ``read_pause`` (seconds
    between reads) model a slow reader.
    """

    op: ClassVar[str] = "expect"
    conn: int = 0
    count: int = 1
    recv_size: int = 0
    read_pause: float = 0.0

    def describe(self) -> str:
        slow = f" slowly ({self.recv_size}B/{self.read_pause:g}s)" if self.read_pause else ""
        return f"c{self.conn} expect {self.count} frame(s){slow}"


@dataclass(frozen=True)
class ExpectClose(Step):
    """Read from ``conn`` until the server closes it (EOF or RST), or the deadline."""

    op: ClassVar[str] = "expect_close"
    conn: int = 0

    def describe(self) -> str:
        return f"c{self.conn} expect close"


@dataclass(frozen=True)
class HalfClose(Step):
    """Shut down the write side of ``conn`` (``SHUT_WR``: the server reads EOF).

    By default the runner first waits until the server has read everything sent (where
    it can see that), so the last bytes and the EOF reach the server as two events.
    ``at_once`` shuts down right after the last write instead: the EOF then arrives
    while the server may still hold unread bytes, as from a client that writes its
    requests and shuts down in one go (the transcript notes how many were unread).
    """

    op: ClassVar[str] = "half_close"
    conn: int = 0
    at_once: bool = False

    def describe(self) -> str:
        return f"c{self.conn} half-close" + (" at once" if self.at_once else "")


@dataclass(frozen=True)
class Abort(Step):
    """Reset ``conn``: close with ``SO_LINGER`` {1, 0}, so the server sees RST."""

    op: ClassVar[str] = "abort"
    conn: int = 0

    def describe(self) -> str:
        return f"c{self.conn} abort (RST)"


@dataclass(frozen=True)
class Close(Step):
    """Close ``conn`` normally (FIN), without reading what is left."""

    op: ClassVar[str] = "close"
    conn: int = 0

    def describe(self) -> str:
        return f"c{self.conn} close"


@dataclass(frozen=True)
class Pause(Step):
    """Do nothing for ``seconds``: a stall, or time for the server to act."""

    op: ClassVar[str] = "pause"
    seconds: float = 0.0

    def describe(self) -> str:
        return f"pause {self.seconds:g}s"


@dataclass(frozen=True)
class AddToxic(Step):
    """Apply ``toxic`` on the fault proxy from here on (needs a fault layer)."""

    op: ClassVar[str] = "add_toxic"
    toxic: Toxic | None = None

    def describe(self) -> str:
        return f"+toxic {self.toxic.describe() if self.toxic else '?'}"


@dataclass(frozen=True)
class RemoveToxic(Step):
    """Remove the toxic called ``name`` from the fault proxy."""

    op: ClassVar[str] = "remove_toxic"
    name: str = ""

    def describe(self) -> str:
        return f"-toxic {self.name}"


STEPS: dict[str, type[Step]] = {
    cls.op: cls
    for cls in (
        Open,
        Send,
        Expect,
        ExpectClose,
        HalfClose,
        Abort,
        Close,
        Pause,
        AddToxic,
        RemoveToxic,
    )
}


def _preview(data: bytes, limit: int = 24) -> str:
    text = repr(data[:limit])
    return text + ("..." if len(data) > limit else "")


@dataclass(frozen=True)
class Scenario:
    """A whole client-side script, with the toxics active throughout.

    Attributes:
        steps: what the client does, in order.
        toxics: faults applied on the proxy before the first step, removed after the last.
        meta: facts about the scenario that its steps do not show, as sorted
            ``(key, value)`` string pairs, for judges and reports: e.g.
            ``("malformed", "over-long-line")``, the kind of a malformed frame sent.
            Playing ignores it.
    """

    steps: tuple[Step, ...] = ()
    toxics: tuple[Toxic, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()

    def tag(self, key: str) -> str:
        """The ``meta`` value of ``key``, or ``""``."""
        return next((value for k, value in self.meta if k == key), "")

    def with_meta(self, **items: str) -> Scenario:
        """A copy with ``items`` added to (or replacing those in) ``meta``."""
        merged = {**dict(self.meta), **items}
        return dataclasses.replace(self, meta=tuple(sorted(merged.items())))

    def connections(self) -> list[int]:
        """The connection numbers used, in order of first use."""
        seen: dict[int, None] = {}
        for step in self.steps:
            conn = getattr(step, "conn", None)
            if isinstance(conn, int):
                seen.setdefault(conn, None)
        return list(seen)

    def needs_fault_layer(self) -> bool:
        """Whether playing this scenario needs a fault proxy."""
        return bool(self.toxics) or any(isinstance(s, AddToxic | RemoveToxic) for s in self.steps)

    def size(self) -> int:
        """A size measure for shrunk scenarios: steps + bytes sent + toxics."""
        sent = sum(len(s.data) for s in self.steps if isinstance(s, Send))
        return len(self.steps) + sent + len(self.toxics)

    def __repr__(self) -> str:
        # Short on purpose: Hypothesis prints falsifying examples with repr(), and a
        # scenario may carry megabytes of payload.
        lines = "; ".join(self.describe())
        if len(lines) > 2000:
            lines = lines[:2000] + "..."
        return f"<Scenario size={self.size()}: {lines}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis's pretty printer uses this instead of listing every field."""
        printer.text(repr(self))

    def describe(self) -> Iterator[str]:
        """One line per toxic and step."""
        for toxic in self.toxics:
            yield f"toxic {toxic.describe()}"
        for step in self.steps:
            yield step.describe()

    # -- JSON -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_json` reverses it exactly."""
        out: dict[str, Any] = {
            "toxics": [t.to_json() for t in self.toxics],
            "steps": [_step_to_json(s) for s in self.steps],
        }
        if self.meta:
            out["meta"] = dict(self.meta)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Scenario:
        """Rebuild a scenario from :meth:`to_json` output.

        Raises:
            ReplayError: the data is not a valid scenario; the message says where.
        """
        if not isinstance(data, Mapping):
            raise ReplayError(f"scenario: expected an object, got {type(data).__name__}")
        steps_json = data.get("steps")
        if not isinstance(steps_json, list):
            raise ReplayError("scenario: 'steps' must be a list")
        toxics_json = data.get("toxics", [])
        if not isinstance(toxics_json, list):
            raise ReplayError("scenario: 'toxics' must be a list")
        try:
            toxics = tuple(toxic_from_json(t) for t in toxics_json)
        except UsageError as exc:
            raise ReplayError(f"scenario: bad toxic: {exc}") from None
        steps = tuple(_step_from_json(s, i) for i, s in enumerate(steps_json))
        meta_json = data.get("meta", {})
        if not isinstance(meta_json, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta_json.items()
        ):
            raise ReplayError("scenario: 'meta' must be an object of strings")
        return cls(steps=steps, toxics=toxics, meta=tuple(sorted(meta_json.items())))


def _step_to_json(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"op": step.op}
    for f in dataclasses.fields(step):
        value = getattr(step, f.name)
        if isinstance(value, tuple):
            out[f.name] = [bytes_to_json(c) for c in value]
        elif isinstance(value, Toxic):
            out[f.name] = value.to_json()
        else:
            out[f.name] = value
    return out


def _step_from_json(data: Any, index: int) -> Step:
    where = f"scenario step {index}"
    if not isinstance(data, Mapping) or not isinstance(data.get("op"), str):
        raise ReplayError(f"{where}: expected an object with an 'op'")
    cls = STEPS.get(data["op"])
    if cls is None:
        raise ReplayError(f"{where}: unknown op {data['op']!r}; valid: {', '.join(sorted(STEPS))}")
    kwargs: dict[str, Any] = {}
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key == "op":
            continue
        declared = fields.get(key)
        if declared is None:
            raise ReplayError(f"{where} ({cls.op}): unknown field {key!r}")
        kwargs[key] = _field_from_json(declared, value, f"{where}.{key}")
    return cls(**kwargs)


def _field_from_json(declared: str, value: Any, where: str) -> Any:
    if declared.startswith("tuple[bytes"):
        if not isinstance(value, list):
            raise ReplayError(f"{where}: expected a list of chunks")
        return tuple(bytes_from_json(v, where=where) for v in value)
    if declared.startswith("Toxic"):
        try:
            return toxic_from_json(value)
        except UsageError as exc:
            raise ReplayError(f"{where}: {exc}") from None
    if declared.startswith("bool"):
        if not isinstance(value, bool):
            raise ReplayError(f"{where}: expected true or false, got {value!r}")
        return value
    if declared.startswith("int"):
        if value is None and "None" in declared:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReplayError(f"{where}: expected a whole number >= 0, got {value!r}")
        return value
    if declared.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ReplayError(f"{where}: expected a number of seconds >= 0, got {value!r}")
        return float(value)
    if declared.startswith("str"):
        if not isinstance(value, str):
            raise ReplayError(f"{where}: expected a string, got {value!r}")
        return value
    raise ReplayError(f"{where}: cannot decode field of type {declared}")  # pragma: no cover
