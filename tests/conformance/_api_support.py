"""The two Toxiproxy API servers the suite drives alike, and a raw HTTP client for them.

* ``toxiproxy-server`` 2.12 (the real one, Go), started by
  :class:`~wirefault.faults.toxiproxy_server.ToxiproxyServer`;
* ``wirefault proxy-server`` (the embedded proxy behind Toxiproxy's API), run
  as a subprocess by :class:`ProxyServer`.

Both bind 127.0.0.1 and a free port, and are stopped by the code that started
them (SIGTERM, then SIGKILL if they linger), with nothing left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from _conformance_support import DEADLINE

from wirefault.faults.toxiproxy_server import NO_PROXY

#: The first line of ``wirefault proxy-server``.
API_LISTENING = re.compile(r"^listening on (127\.0\.0\.1):(\d+) \(Toxiproxy API\)$")


class WirefaultCommand:
    """A running ``python -m wirefault ARGS...`` with its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wirefault", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            env=env,
        )
        self._pending = b""

    @property
    def pid(self) -> int:
        """The command's process id."""
        return self.process.pid

    def readline(self, timeout: float = 15.0) -> str:
        """The next stdout line, waiting at most ``timeout`` seconds ("" at EOF)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                if not selector.select(max(0.0, deadline - time.monotonic())):
                    pytest.fail(
                        f"wirefault {self.process.args[3:]} printed no line in {timeout:g} s"
                    )
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``signum`` and wait: ``(exit status, stderr)``."""
        self.process.send_signal(signum)
        _out, err = self.process.communicate(timeout=DEADLINE * 2)
        return self.process.returncode, err.decode(errors="replace")

    def close(self) -> None:
        """Stop the process if it still runs (SIGTERM, then SIGKILL) and close its pipes."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.communicate(timeout=DEADLINE)


class ProxyServer(WirefaultCommand):
    """``wirefault proxy-server --port 0 [ARGS]``, once it answers."""

    def __init__(self, *args: str) -> None:
        super().__init__("proxy-server", "--port", "0", *args)
        line = self.readline()
        match = API_LISTENING.match(line)
        if match is None:
            self.close()
            pytest.fail(f"wirefault proxy-server printed {line!r}, not its listening line")
        self.url = f"http://{match.group(1)}:{match.group(2)}"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, as the suite compares them."""

    status: int
    content_type: str | None
    text: str

    def json(self) -> object:
        """The body as JSON."""
        return requests.models.complexjson.loads(self.text)


class ApiClient:
    """Raw requests to one Toxiproxy API (no HTTP proxy from the environment)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session = requests.Session()
        self._session.trust_env = False

    def call(
        self,
        method: str,
        path: str,
        body: str | None = None,
        *,
        user_agent: str | None = None,
    ) -> Answer:
        """Send ``body`` (raw text) and return the answer."""
        headers = {"User-Agent": user_agent} if user_agent else {}
        answer = self._session.request(
            method,
            self.url + path,
            data=body.encode() if body is not None else None,
            headers=headers,
            timeout=DEADLINE * 2,
            proxies=NO_PROXY,
            allow_redirects=False,
        )
        return Answer(answer.status_code, answer.headers.get("Content-Type"), answer.text)

    def delete_all(self) -> None:
        """Delete every proxy on the server."""
        names = self.call("GET", "/proxies").json()
        assert isinstance(names, dict)
        for name in names:
            self.call("DELETE", f"/proxies/{name}")

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


@contextlib.contextmanager
def api_client(url: str) -> Iterator[ApiClient]:
    """An :class:`ApiClient` whose proxies are all deleted afterwards."""
    client = ApiClient(url)
    try:
        yield client
    finally:
        with contextlib.suppress(requests.RequestException):
            client.delete_all()
        client.close()
