"""Helpers for the Toxiproxy backend tests: a scripted fake API, fake binaries, skip rules.

:class:`FakeToxiproxy` is an HTTP server on 127.0.0.1 port 0 answering from a
table of ``(method, path) -> (status, body)`` and recording every request; it
lets the client's error handling be tested without a real server.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wirefault.faults.toxiproxy_server import INSTALL_HINT, find_server_binary

Route = tuple[int, str]


class FakeToxiproxy:
    """A scripted stand-in for Toxiproxy's API; ``requests`` holds what it was sent."""

    def __init__(self, routes: dict[tuple[str, str], Route] | None = None) -> None:
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/version"): (200, '{"version": "fake"}'),
            **(routes or {}),
        }
        self.requests: list[tuple[str, str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                fake.requests.append((self.command, self.path, body))
                status, text = fake.routes.get(
                    (self.command, self.path), (404, '{"error": "not found", "status": 404}')
                )
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the listener."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


def error_body(message: str, status: int) -> str:
    """Toxiproxy's error JSON."""
    return json.dumps({"error": message, "status": status})


def fake_binary(directory: Path, script: str) -> str:
    """An executable shell script standing in for ``toxiproxy-server``."""
    path = directory / "toxiproxy-server"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return str(path)


def need_toxiproxy_binary() -> str:
    """The real binary; skip without it (fail when WIREFAULT_REQUIRE_TOXIPROXY=1)."""
    binary = find_server_binary()
    if binary is not None:
        return binary
    reason = f"toxiproxy-server not found ({INSTALL_HINT})"
    if os.environ.get("WIREFAULT_REQUIRE_TOXIPROXY") == "1":
        pytest.fail(f"WIREFAULT_REQUIRE_TOXIPROXY=1 but {reason}")
    pytest.skip(reason)


def child_pids() -> list[int]:
    """Pids of this process's live (non-zombie) children."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(int(entry.name))
    return found
