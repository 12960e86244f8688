"""A unix:// target that answers wrongly is named in the error, not its loopback TCP front."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import wirefault


@pytest.fixture
def closing_unix_server(tmp_path: Path) -> Iterator[Path]:
    """A unix socket server that accepts every connection and closes it at once."""
    path = tmp_path / "app.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    stop.set()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(timeout=10)


def test_a_unix_target_that_does_not_answer_is_named_with_its_path(
    closing_unix_server: Path, tmp_path: Path
) -> None:
    done = wirefault("fuzz", f"unix://{closing_unix_server}", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"wirefault: error: unix://{closing_unix_server} (through its loopback")
    assert "does not answer the raw probe" in line
