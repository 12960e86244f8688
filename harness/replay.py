"""Replay files: a failing scenario with everything needed to play it again.

A replay file is JSON only (nothing is unpickled or evaluated)::

    {
      "wirefault_replay": 1,
      "property": "reassembly",
      "message": "sent whole, the requests got 2 responses ...",
      "kind": "mismatch",
      "codec": {"name": "lenprefix", "options": {"header_bytes": 4, ...}},
      "target": {"address": "tcp://127.0.0.1:4000", "start": "wirefault serve ... --port {port}"},
      "backend": "embedded",
      "deadline": 1.0,
      "seed": 1234,
      "agreement": {"replays": 3, "reproduced": 3},
      "scenario": {"toxics": [...], "steps": [...]},
      "transcript": {"connections": [...], "expects": [...], "events": [...]}
    }
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wirefault import __version__
from wirefault.addresses import Address, parse_address
from wirefault.codecs import get_codec
from wirefault.codecs.base import Codec
from wirefault.errors import ReplayError, UsageError
from wirefault.scenario import Scenario
from wirefault.transcript import Event, Transcript

__all__ = ["FORMAT_VERSION", "Replay", "load_replay", "save_replay"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Replay:
    """The contents of a replay file."""

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
    kind: str = "",
) -> Path:
    """Write a replay file under ``out_dir`` and return its path (never overwrites)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "wirefault_replay": FORMAT_VERSION,
        "wirefault_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "property": prop,
        "message": message,
        "kind": kind,
        "codec": {"name": codec.name, "options": dict(codec.options())},
        "target": {"address": str(address), "start": start},
        "backend": backend,
        "deadline": deadline,
        "seed": seed,
        "agreement": {"replays": agreement[0], "reproduced": agreement[1]},
        "scenario": scenario.to_json(),
        "transcript": transcript.to_json(),
    }
    stem = f"{prop}-{codec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
    for n in range(1000):
        path = out_dir / (f"{stem}.json" if n == 0 else f"{stem}-{n}.json")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        return path
    raise ReplayError(f"cannot name a new replay file in {out_dir}: clean it up")


def _need(data: dict[str, Any], key: str, kind: type, path: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ReplayError(
            f"{path}: '{key}' is missing or not a {kind.__name__}; is this a wirefault replay file?"
        )
    return value


def load_replay(path: str | Path) -> Replay:
    """Read and validate a replay file.

    Raises:
        ReplayError: the file is missing, unreadable, not JSON, truncated, of another
            format version, or not a wirefault replay; the message says which.
    """
    p = Path(path)
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
    agreement = data.get("agreement") or {}
    transcript = data.get("transcript") or {}
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
        agreement=(int(agreement.get("replays", 0)), int(agreement.get("reproduced", 0)))
        if isinstance(agreement, dict)
        else (0, 0),
        events=Transcript.events_from_json(transcript) if transcript else [],
        transcript_json=transcript if isinstance(transcript, dict) else {},
        kind=data["kind"] if isinstance(data.get("kind"), str) else "",
    )
