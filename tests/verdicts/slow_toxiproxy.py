"""A fake Toxiproxy API that answers late, or hangs up, on cue.

:class:`SlowToxiproxy` serves on 127.0.0.1:0 from a table of
``(method, path) -> [(delay, status, body), ...]``: each request of a route
takes the next entry (the last one repeats); status :data:`HANG_UP` closes the
connection without an answer. ``GET /version`` answers at once.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: A status meaning: hang up without answering.
HANG_UP = 0

Answer = tuple[float, int, str]


class SlowToxiproxy:
    """A scripted, slow stand-in for Toxiproxy's API; ``seen`` lists the requests' routes."""

    def __init__(self, routes: dict[tuple[str, str], list[Answer]]) -> None:
        self.routes = {("GET", "/version"): [(0.0, 200, '{"version": "slow"}')], **routes}
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                delay, status, body = fake.next_answer(self.command, self.path)
                time.sleep(delay)
                if status == HANG_UP:
                    self.close_connection = True
                    return
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def next_answer(self, method: str, path: str) -> Answer:
        """The answer to this request (404 for a route not in the table)."""
        with self._lock:
            self.seen.append((method, path))
            answers = self.routes.get((method, path))
            if not answers:
                return (0.0, 404, '{"error": "not found", "status": 404}')
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
