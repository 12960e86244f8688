"""Starting and stopping a ``toxiproxy-server`` process that wirefault owns.

::

    find_server_binary()  ->  ToxiproxyServer.start()  ->  .url  ...  .stop()

The server listens on 127.0.0.1 and a free port, logs to a temporary file
(its tail goes into every error), and is stopped — terminate, wait, kill — by
:meth:`ToxiproxyServer.stop`, which an :mod:`atexit` guard also calls if the
owner never did. It runs in a session of its own (a terminal's Ctrl-C reaches
wirefault alone, which then stops it in order) registered with the guardian of
:mod:`wirefault._processes`, which stops it if wirefault is killed outright.
Nothing here speaks Toxiproxy's API beyond ``GET /version``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import cast

import requests

from wirefault._processes import release_group, signals_held, spawn_group
from wirefault.errors import FaultLayerError

__all__ = ["INSTALL_HINT", "NO_PROXY", "ToxiproxyServer", "find_server_binary"]

#: How to get Toxiproxy, quoted by every error that finds none.
INSTALL_HINT = (
    "install it with `go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0` and put "
    "the binary on PATH as toxiproxy-server (or run scripts/install-toxiproxy.sh), set "
    "TOXIPROXY_SERVER to its path, or set TOXIPROXY_URL to a running server"
)

# Toxiproxy keeps running when its API port is taken: it only logs this line.
_BIND_FAILED = "Server finished with error"
_PORT_ATTEMPTS = 3

#: ``requests``' ``proxies=`` value that ignores HTTP(S)_PROXY/ALL_PROXY from the
#: environment: the API is on loopback or on a host the user named, never behind a proxy.
#: (requests drops None entries after merging the environment; its stubs only allow str.)
NO_PROXY = cast("dict[str, str]", {"http": None, "https": None, "all": None})


def find_server_binary() -> str | None:
    """The ``toxiproxy-server`` to run: ``$TOXIPROXY_SERVER`` if set, else one on PATH.

    Returns:
        An executable path, or None when there is none.
    """
    configured = os.environ.get("TOXIPROXY_SERVER")
    if configured:
        path = Path(configured)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which("toxiproxy-server")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ToxiproxyServer:
    """A ``toxiproxy-server`` child process listening on ``host``:``port``.

    Use :meth:`start`; the constructor only records a process already running.
    """

    def __init__(self, process: subprocess.Popen[bytes], host: str, port: int, log: Path) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.log_path = log
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        """The API's base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    @classmethod
    def start(
        cls, binary: str | None = None, *, host: str = "127.0.0.1", timeout: float = 10.0
    ) -> ToxiproxyServer:
        """Start ``binary`` (default :func:`find_server_binary`) and wait until it answers.

        Raises:
            FaultLayerError: no binary, it would not start, or it did not answer
                ``GET /version`` within ``timeout`` seconds (the message quotes its log).
        """
        path = binary or find_server_binary()
        if path is None:
            raise FaultLayerError(f"no toxiproxy-server found: {INSTALL_HINT}")
        for _ in range(_PORT_ATTEMPTS):
            server: ToxiproxyServer | None = None
            try:
                with signals_held():
                    server = cls._spawn(path, host)
                if server._wait_ready(timeout):
                    return server
            except BaseException:
                if server is not None:
                    server.stop()
                raise
            server.stop()  # the port was taken between our probe and its bind: try another
        raise FaultLayerError(
            f"toxiproxy-server could not bind a free port on {host} in {_PORT_ATTEMPTS} tries; "
            "is something grabbing ports? retry, or start it yourself and set TOXIPROXY_URL"
        )

    @classmethod
    def _spawn(cls, path: str, host: str) -> ToxiproxyServer:
        port = _free_port(host)
        fd, log_name = tempfile.mkstemp(prefix="wirefault-toxiproxy-", suffix=".log")
        env = dict(os.environ)
        env.setdefault("LOG_LEVEL", "info")  # its default (trace) logs every request
        try:
            with os.fdopen(fd, "wb") as log:
                process = spawn_group(
                    [path, "-host", host, "-port", str(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
                return cls(process, host, port, Path(log_name))
        except OSError as exc:
            Path(log_name).unlink(missing_ok=True)
            raise FaultLayerError(
                f"cannot run {path}: {exc.strerror or exc}; {INSTALL_HINT}"
            ) from exc

    def _wait_ready(self, timeout: float) -> bool:
        """Wait until ``GET /version`` answers: True, or False if the port was taken.

        Polls with a plain TCP connect first (cheap, and leaves no half-closed
        sockets behind for the garbage collector), then asks for the version.

        Raises:
            FaultLayerError: the process exited or never answered.
        """
        deadline = time.monotonic() + timeout
        while True:
            if _BIND_FAILED in self.log_tail():
                return False
            code = self.process.poll()
            if code is not None:
                raise FaultLayerError(
                    f"toxiproxy-server exited with status {code} before answering; "
                    f"its log ends: {self.log_tail()}"
                )
            if self._answers():
                # A foreign server may own the port: ours then logged the bind error.
                return _BIND_FAILED not in self.log_tail()
            if time.monotonic() > deadline:
                raise FaultLayerError(
                    f"toxiproxy-server (pid {self.pid}) did not answer GET {self.url}/version "
                    f"within {timeout:g} s; its log ends: {self.log_tail()}"
                )
            time.sleep(0.02)  # polling a child process's readiness, not synchronising tests

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                pass
        except OSError:
            return False
        try:
            answer = requests.get(f"{self.url}/version", timeout=2.0, proxies=NO_PROXY)
        except requests.RequestException:
            return False
        return answer.ok

    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        """The last ``lines`` lines of the server's log, joined by `` | ``."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(log unavailable)"
        tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(empty log)"

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server, wait, kill it if it lingers; remove its log. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        release_group(self.process.pid)
        self.log_path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"ToxiproxyServer(pid={self.pid}, url={self.url!r}, {state})"
