"""Where Hypothesis keeps the examples that failed, so they are tried first next time.

By default a directory under the output folder; with ``WIREFAULT_REDIS_URL``
set (``redis://127.0.0.1:6379/0``), a Redis database shared by every worker and
CI runner that points at the same server, so a failure found anywhere is
replayed first everywhere.

Hypothesis keeps more than examples on disk (a cache of the constants it draws
from local source files, under its "home directory", by default ``./.hypothesis``
in whatever directory the command runs in). :func:`keep_hypothesis_files_in`
moves that home under the output folder too, so ``wirefault fuzz`` writes
nothing outside ``--out``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from wirefault.errors import UsageError

__all__ = [
    "REDIS_ENV",
    "GatedDatabase",
    "example_database",
    "hypothesis_home",
    "keep_hypothesis_files_in",
]

#: The environment variable naming a shared Redis example database.
REDIS_ENV = "WIREFAULT_REDIS_URL"


def hypothesis_home(out_dir: Path) -> Path:
    """Where Hypothesis keeps its files for a run writing to ``out_dir``."""
    return out_dir / ".hypothesis"


def keep_hypothesis_files_in(out_dir: Path) -> None:
    """Make this process's Hypothesis write its files under :func:`hypothesis_home`.

    Process-wide (Hypothesis has one home directory per process): for a command
    that owns its process, like ``wirefault fuzz``. The pytest plugin leaves the
    home where Hypothesis's own pytest plugin puts it, shared with the user's tests.
    """
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(hypothesis_home(out_dir))


def example_database(out_dir: Path, *, redis_url: str | None = None) -> ExampleDatabase:
    """The example database to use: Redis when configured, else ``out_dir/.hypothesis``.

    Raises:
        UsageError: a Redis URL is set but the ``redis`` package is missing or the URL is bad.
    """
    url = redis_url or os.environ.get(REDIS_ENV)
    if url:
        return redis_database(url)
    return DirectoryBasedExampleDatabase(hypothesis_home(out_dir) / "examples")


def redis_database(url: str) -> ExampleDatabase:
    """A Hypothesis example database in the Redis server at ``url``."""
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise UsageError(
            f"{REDIS_ENV} is set but the redis package is missing: pip install 'wirefault[redis]'"
        ) from None
    try:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    except ValueError as exc:
        raise UsageError(f"bad {REDIS_ENV} {url!r}: {exc}") from None
    return RedisExampleDatabase(client, key_prefix=b"wirefault:")


class GatedDatabase(ExampleDatabase):
    """An example database whose saves can be shut off for a moment.

    Hypothesis saves the example under way as a failure when any exception other
    than KeyboardInterrupt leaves the test, including the campaign's own ways of
    stopping a run (time budget spent, shrinking over). Those examples were never
    played to the end: the campaign closes the gate before raising them, so they
    are not kept and replayed first next time.
    """

    def __init__(self, inner: ExampleDatabase) -> None:
        super().__init__()
        self.inner = inner
        self.open = True

    def save(self, key: bytes, value: bytes) -> None:
        """Save through to the inner database while the gate is open."""
        if self.open:
            self.inner.save(key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        """The inner database's entries for ``key``."""
        return self.inner.fetch(key)

    def delete(self, key: bytes, value: bytes) -> None:
        """Delete from the inner database."""
        self.inner.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        """Move within the inner database while the gate is open."""
        if self.open:
            self.inner.move(src, dest, value)

    def unshrunk(self, key: bytes) -> None:
        """Mark the failures saved under ``key`` as not shrunk yet, for the next run to shrink.

        Hypothesis takes a failure it replays from a test's primary corpus for one it
        has shrunk already, and does not shrink it again; from the secondary corpus
        (``KEY.secondary``, where it keeps failures it has since improved on) it
        replays and shrinks. A failure whose run ended before shrinking goes there.
        """
        for value in list(self.inner.fetch(key)):
            self.inner.move(key, key + b".secondary", value)
