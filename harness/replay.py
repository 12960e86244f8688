"""Replay files: a failing scenario with everything needed to play it again.

A replay file is JSON only (nothing is unpickled or evaluated) and stands alone:
``wirefault replay FILE`` needs no other option to reproduce it::

    {
      "wirefault_replay": 1,
      "property": "reassembly",
      "message": "sent whole, the requests got 2 responses ...",
      "kind": "mismatch",
      "codec": {"name": "lenprefix", "options": {"header_bytes": 4, ...}},
      "target": {"address": "tcp://127.0.0.1:4000", "start": "wirefault serve ... --port {port}",
                 "greeting": false, "probe": "PING\\r\\n"},
      "backend": "embedded",
      "deadline": 1.0,
      "seed": 1234,
      "agreement": {"replays": 3, "reproduced": 3},
      "preamble": ["\u0010\u000c..."],  (optional: the handshake each connection sends first)
      "fresh_server": {"plays": 16, "reproduced": true},
      "scenario": {"toxics": [...], "steps": [...]},
      "transcript": {"connections": [...], "expects": [...], "events": [...]},
      "signature": "hmac-sha256:..."
    }

``fresh_server`` says how many plays of the scenario, from a freshly started
server, it took to reproduce the failure (1 unless it needs state the server
accumulates, such as a leak); null when it could not be measured (no ``--start``).
``signature`` marks a file this user's wirefault wrote (:mod:`wirefault.signing`):
only then is its ``start`` command run without asking.

New keys may be added without a new format version: readers ignore keys they
do not know, and the signature covers every key.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wirefault import __version__
from wirefault.addresses import Address, parse_address
from wirefault.codecs import codec_reference, get_codec
from wirefault.codecs.base import Codec
from wirefault.errors import ReplayError, UsageError
from wirefault.scenario import Scenario
from wirefault.signing import sign, signature_ok
from wirefault.transcript import Event, Transcript
from wirefault.wire import bytes_from_json, bytes_to_json

__all__ = ["FORMAT_VERSION", "FreshPlays", "Replay", "load_replay", "save_replay"]

FORMAT_VERSION = 1
#: The chance a bare ``wirefault replay`` may miss a failure that reproduces as often
#: as its agreement says; it plays until the miss is this unlikely.
MISS_CHANCE = 0.01
#: Most plays a bare ``wirefault replay`` makes for a rarely reproducing failure.
MAX_DEFAULT_PLAYS = 50


@dataclass(frozen=True)
class FreshPlays:
    """How many plays from a freshly started server reproduced a failure.

    Attributes:
        plays: plays made, the last one reproducing it when ``reproduced``.
        reproduced: False when none of ``plays`` plays did.
    """

    plays: int
    reproduced: bool


@dataclass(frozen=True)
class Replay:
    """The contents of a replay file.

    Attributes:
        trusted: the file carries this user's valid signature (see :mod:`wirefault.signing`).
    """

    property: str
    message: str
    codec_name: str
    codec_options: dict[str, Any]
    address: Address
    scenario: Scenario
    start: str | None = None
    backend: str | None = None
    deadline: float = 1.0
    seed: int | None = None
    agreement: tuple[int, int] = (0, 0)
    events: list[Event] = field(default_factory=list)
    transcript_json: dict[str, Any] = field(default_factory=dict)
    preamble: tuple[bytes, ...] = ()
    probe: bytes | None = None
    greeting: bool = False
    fresh: FreshPlays | None = None
    trusted: bool = False
    #: The failure's kind (timeout, closed, mismatch...; "" in files from before kinds).
    kind: str = ""

    def codec(self) -> Codec:
        """Rebuild the codec the failure was found with.

        Raises:
            ReplayError: the stored codec name or options are not valid.
        """
        try:
            return get_codec(self.codec_name, **self.codec_options)
        except UsageError as exc:
            raise ReplayError(f"replay file's codec: {exc}") from None

    def default_plays(self) -> int:
        """Plays that reproduce the failure, stopping at the first that does, when none is asked.

        Those a fresh server needed before it first failed, then enough that a
        failure reproducing as often as its agreement says is missed with a
        chance under ``MISS_CHANCE`` (1 play at 3/3, 5 at 2/3, 12 at 1/3).
        """
        replays, reproduced = self.agreement
        share = reproduced / replays if replays and reproduced else 1.0
        tries = 1 if share >= 1 else math.ceil(math.log(MISS_CHANCE) / math.log(1 - share))
        before = 0
        if self.fresh is not None:
            before = self.fresh.plays - 1 if self.fresh.reproduced else self.fresh.plays
        return before + min(tries, MAX_DEFAULT_PLAYS)


def save_replay(
    out_dir: Path,
    *,
    prop: str,
    message: str,
    codec: Codec,
    address: Address,
    scenario: Scenario,
    transcript: Transcript,
    start: str | None,
    backend: str | None,
    deadline: float,
    seed: int | None,
    agreement: tuple[int, int],
    probe: bytes | None = None,
    greeting: bool = False,
    fresh: FreshPlays | None = None,
    preamble: tuple[bytes, ...] = (),
    kind: str = "",
) -> Path:
    """Write a signed replay file under ``out_dir`` and return its path (never overwrites).

    The file appears whole or not at all (written aside, then linked into place).
    The codec is stored by :func:`~wirefault.codecs.codec_reference`, so a user codec
    (``module:Name``) is rebuilt from the same class.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "wirefault_replay": FORMAT_VERSION,
        "wirefault_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "property": prop,
        "message": message,
        "kind": kind,
        "codec": {"name": codec_reference(codec), "options": dict(codec.options())},
        "target": {
            "address": str(address),
            "start": start,
            "greeting": greeting,
            "probe": None if probe is None else bytes_to_json(probe),
        },
        "backend": backend,
        "deadline": deadline,
        "seed": seed,
        "agreement": {"replays": agreement[0], "reproduced": agreement[1]},
        "fresh_server": None
        if fresh is None
        else {"plays": fresh.plays, "reproduced": fresh.reproduced},
        "scenario": scenario.to_json(),
        "transcript": transcript.to_json(),
    }
    if preamble:
        data["preamble"] = [bytes_to_json(p) for p in preamble]
    data["signature"] = sign(data)
    stem = f"{prop}-{codec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
    aside = out_dir / f".{stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    with aside.open("x", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    try:
        for n in range(1000):
            path = out_dir / (f"{stem}.json" if n == 0 else f"{stem}-{n}.json")
            try:
                os.link(aside, path)  # fails if the name is taken: never overwrites
            except FileExistsError:
                continue
            return path
    finally:
        with contextlib.suppress(OSError):
            aside.unlink()
    raise ReplayError(f"cannot name a new replay file in {out_dir}: clean it up")


def _need(data: dict[str, Any], key: str, kind: type, path: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ReplayError(
            f"{path}: '{key}' is missing or not a {kind.__name__}; is this a wirefault replay file?"
        )
    return value


def _read_json(p: Path) -> dict[str, Any]:
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplayError(f"replay file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"cannot read replay file {p}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(
            f"{p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "is it truncated?"
        ) from None
    if not isinstance(data, dict) or "wirefault_replay" not in data:
        raise ReplayError(
            f"{p} is JSON but not a wirefault replay file (no 'wirefault_replay' key)"
        )
    if data["wirefault_replay"] != FORMAT_VERSION:
        raise ReplayError(
            f"{p} has replay format {data['wirefault_replay']!r}; this wirefault reads "
            f"format {FORMAT_VERSION}"
        )
    return data


def _fresh(value: Any, where: str) -> FreshPlays | None:
    if value is None:
        return None
    plays = value.get("plays") if isinstance(value, dict) else None
    if isinstance(plays, bool) or not isinstance(plays, int) or plays < 1:
        raise ReplayError(f"{where}: 'fresh_server' must be null or {{'plays': N >= 1, ...}}")
    return FreshPlays(plays, bool(value.get("reproduced", True)))


def _agreement(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict):
        return (0, 0)
    try:
        return (int(value.get("replays", 0)), int(value.get("reproduced", 0)))
    except (TypeError, ValueError):
        return (0, 0)


def load_replay(path: str | Path) -> Replay:
    """Read and validate a replay file.

    Raises:
        ReplayError: the file is missing, unreadable, not JSON, truncated, of another
            format version, or not a wirefault replay; the message says which.
    """
    p = Path(path)
    data = _read_json(p)
    codec = _need(data, "codec", dict, str(p))
    target = _need(data, "target", dict, str(p))
    try:
        address = parse_address(_need(target, "address", str, f"{p} target"), allow_zero=True)
    except UsageError as exc:
        raise ReplayError(f"{p}: target address: {exc}") from None
    options = codec.get("options", {})
    if not isinstance(options, dict):
        raise ReplayError(f"{p}: codec options must be an object")
    deadline = data.get("deadline", 1.0)
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline <= 0:
        raise ReplayError(f"{p}: 'deadline' must be a positive number of seconds")
    seed = data.get("seed")
    transcript = data.get("transcript") or {}
    probe = target.get("probe")
    return Replay(
        property=_need(data, "property", str, str(p)),
        message=str(data.get("message", "")),
        codec_name=_need(codec, "name", str, f"{p} codec"),
        codec_options=options,
        address=address,
        scenario=Scenario.from_json(_need(data, "scenario", dict, str(p))),
        start=target.get("start") if isinstance(target.get("start"), str) else None,
        backend=data.get("backend") if isinstance(data.get("backend"), str) else None,
        deadline=float(deadline),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        agreement=_agreement(data.get("agreement")),
        events=Transcript.events_from_json(transcript) if transcript else [],
        transcript_json=transcript if isinstance(transcript, dict) else {},
        preamble=_preamble(data, p),
        probe=None if probe is None else bytes_from_json(probe, where=f"{p} target probe"),
        greeting=target.get("greeting") is True,
        fresh=_fresh(data.get("fresh_server"), str(p)),
        trusted=signature_ok(data),
        kind=data["kind"] if isinstance(data.get("kind"), str) else "",
    )


def _preamble(data: dict[str, Any], path: Path) -> tuple[bytes, ...]:
    value = data.get("preamble", [])
    if not isinstance(value, list):
        raise ReplayError(f"{path}: 'preamble' must be a list of requests")
    return tuple(bytes_from_json(v, where=f"{path} preamble") for v in value)
