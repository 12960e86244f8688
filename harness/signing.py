"""Replay files written by this user, told apart from files that came from elsewhere.

A replay file may hold the shell command that starts its server. Files travel
(CI artifacts, bug reports), so ``wirefault replay`` runs a stored command only
when the file is known to be this user's own: every file that ``wirefault fuzz``
(or the pytest plugin) writes carries ``"signature": "hmac-sha256:HEX"``, an
HMAC-SHA256 of the file's canonical content (everything but the signature: the
JSON with sorted keys, no spaces, ASCII) under a secret key of the user's. A file
edited anywhere, or written with another key, does not check out. (Jupyter
trusts notebooks the same way.)

The key is 32 random bytes, as hex, in ``$WIREFAULT_KEY_FILE`` if set (for CI,
where a secret can be mounted), else ``$XDG_CONFIG_HOME/wirefault/key`` (default
``~/.config/wirefault/key``). It is created on first signing, mode 0600 in a 0700
directory; checking a signature never creates it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from wirefault.errors import UsageError

__all__ = ["KEY_ENV", "canonical", "key_path", "sign", "signature_ok"]

#: The environment variable naming the key file.
KEY_ENV = "WIREFAULT_KEY_FILE"
#: The key that holds the signature in a replay file.
SIGNATURE_KEY = "signature"
_SCHEME = "hmac-sha256:"


def key_path() -> Path:
    """Where this user's key is (or will be created)."""
    chosen = os.environ.get(KEY_ENV)
    if chosen:
        return Path(chosen).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "wirefault" / "key"


def canonical(data: dict[str, Any]) -> bytes:
    """The bytes a signature covers: ``data`` without its signature, in one fixed form."""
    content = {k: v for k, v in data.items() if k != SIGNATURE_KEY}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def _digest(key: bytes, data: dict[str, Any]) -> str:
    return _SCHEME + hmac.new(key, canonical(data), hashlib.sha256).hexdigest()


def sign(data: dict[str, Any]) -> str:
    """The signature of ``data`` under this user's key (created if there is none).

    Raises:
        UsageError: the key file exists but is not a key, or cannot be created.
    """
    key = _load_key(create=True)
    assert key is not None  # created when missing
    return _digest(key, data)


def signature_ok(data: dict[str, Any]) -> bool:
    """Whether ``data`` carries a valid signature made with this user's key."""
    stored = data.get(SIGNATURE_KEY)
    if not isinstance(stored, str):
        return False
    try:
        key = _load_key(create=False)
    except UsageError:
        return False
    return key is not None and hmac.compare_digest(stored, _digest(key, data))


def _load_key(*, create: bool) -> bytes | None:
    path = key_path()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            return None
        return _create_key(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the wirefault key {path}: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise UsageError(
            f"{path} is not a wirefault key (expected 64 hex digits); remove it and a new "
            f"one is made, or point {KEY_ENV} at another file"
        )
    return key


def _create_key(path: Path) -> bytes:
    """Write a new key at ``path``, atomically: a concurrent creator's key wins if first."""
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key.hex() + "\n")
        try:
            os.link(temporary, path)  # never replaces a key another process just made
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink()
    except OSError as exc:
        raise UsageError(
            f"cannot create the wirefault key {path}: {exc.strerror or exc}; "
            f"set {KEY_ENV} to a writable path"
        ) from None
    loaded = _load_key(create=False)
    assert loaded is not None
    return loaded
