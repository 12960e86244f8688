"""A client for Toxiproxy's HTTP API that keeps toxiproxy-python's good parts only.

toxiproxy-python (0.1.1, unmaintained) keeps the server's host and port as class
attributes of ``APIConsumer``, sets no timeouts, has no PATCH, and lets 5xx
answers through. :class:`ToxiproxyClient` contains it: each client makes its
own ``APIConsumer`` subclass (so two servers in one process do not clash),
every call carries a timeout (and is retried once with a longer one) and
ignores HTTP proxies from the environment,
PATCH goes through ``requests`` with the library's own response check, and
every failure — the library's ``ProxyExists``/``NotFound``/``InvalidToxic``,
``requests`` errors, any 4xx or 5xx — becomes a
:class:`~wirefault.errors.FaultLayerError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Protocol, cast
from urllib.parse import urlsplit

import requests
from toxiproxy.api import APIConsumer, validate_response
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from wirefault.addresses import format_hostport
from wirefault.errors import FaultLayerError, FaultLayerUnavailable, UsageError
from wirefault.faults.toxiproxy_server import NO_PROXY

__all__ = ["RETRY_FACTOR", "ToxiproxyClient", "ToxiproxyRefused"]

DEFAULT_PORT = 8474
#: A call's retry waits this many times the first attempt's timeout.
RETRY_FACTOR = 4.0
_STATUS_OF = {ProxyExists: 409, NotFound: 404, InvalidToxic: 400}


class _Consumer(Protocol):
    """The class methods of toxiproxy-python's ``APIConsumer`` that we call."""

    def get(self, url: str, params: None = None, **kwargs: object) -> requests.Response: ...

    def post(self, url: str, data: None = None, **kwargs: object) -> requests.Response: ...

    def delete(self, url: str, **kwargs: object) -> requests.Response: ...


class ToxiproxyRefused(FaultLayerError):
    """Toxiproxy answered with an error status (4xx or 5xx), kept in ``status``."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def _server_message(content: bytes) -> str:
    """The ``error`` text of Toxiproxy's ``{"error", "status"}`` body, else the raw body."""
    text = content.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200] or "(empty body)"
    return str(data.get("error", text)) if isinstance(data, dict) else text[:200]


def parse_api_url(url: str) -> tuple[str, int]:
    """Split ``http://HOST[:PORT]`` (port default 8474) into ``(host, port)``.

    Raises:
        UsageError: not an ``http://`` URL with a host and no path.
    """
    example = "expected http://HOST:PORT such as http://127.0.0.1:8474"
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise UsageError(f"bad Toxiproxy URL {url!r}: {example}") from None
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise UsageError(f"bad Toxiproxy URL {url!r}: {example}")
    return parts.hostname, port


class ToxiproxyClient:
    """Toxiproxy's HTTP API at one base URL, with timeouts, a retry, and wirefault errors.

    A call that gets no answer within ``timeout`` is tried again once with
    ``timeout * retry_factor``: Toxiproxy answers a DELETE or PATCH only when its
    accept loop is free, and that loop waits on its dial to the upstream, which a
    busy server (one that serves one connection at a time, a full backlog) can hold
    for seconds. When the retry finds that the first attempt did its work after all
    (a DELETE answered 404, a POST 409), the call counts as done.

    Args:
        url: ``http://HOST:PORT`` of the API.
        timeout: seconds allowed for the first attempt of each HTTP call.
        retry_factor: the retry's bound, as a multiple of ``timeout`` (0: no retry).
        context: called when the server cannot be reached; its text (e.g. the
            tail of the server's log) ends the error message.

    Raises:
        UsageError: a malformed ``url``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retry_factor: float = RETRY_FACTOR,
        context: Callable[[], str] | None = None,
    ) -> None:
        host, port = parse_api_url(url)
        self.url = f"http://{format_hostport(host, port)}"
        self.timeout = timeout
        self.retry_factor = retry_factor
        self._context = context or _default_context
        # A subclass per client: APIConsumer keeps host and port as class attributes.
        bracketed = f"[{host}]" if ":" in host else host
        self._consumer = cast(
            _Consumer, type("APIConsumer", (APIConsumer,), {"host": bracketed, "port": port})
        )

    def request(self, method: str, path: str, body: Mapping[str, object] | None = None) -> object:
        """Call the API; returns the decoded JSON body (None when there is none).

        Raises:
            ToxiproxyRefused: the server answered 4xx or 5xx.
            FaultLayerUnavailable: the server did not answer in time (twice) or could
                not be reached.
        """
        bounds = [self.timeout]
        if self.retry_factor > 0:
            bounds.append(self.timeout * self.retry_factor)
        for attempt, bound in enumerate(bounds):
            try:
                response = self._send(method, path, body, bound)
            except (ProxyExists, NotFound, InvalidToxic) as exc:
                status = _STATUS_OF[type(exc)]
                if attempt and _done_by_earlier_attempt(method, status):
                    return None
                content = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else b""
                raise self._refused(method, path, status, content) from exc
            except requests.Timeout as exc:
                if attempt + 1 < len(bounds):
                    continue
                tried = " or ".join(f"{b:g} s" for b in bounds)
                raise FaultLayerUnavailable(
                    f"Toxiproxy at {self.url} did not answer {method} {path} within {tried}; "
                    f"{self._context()}"
                ) from exc
            except requests.RequestException as exc:
                raise FaultLayerUnavailable(
                    f"cannot reach Toxiproxy at {self.url} ({method} {path}: "
                    f"{type(exc).__name__}); {self._context()}"
                ) from exc
            return self._decode(method, path, response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, method: str, path: str, body: Mapping[str, object] | None, timeout: float
    ) -> requests.Response:
        proxies = NO_PROXY
        if method == "GET":
            return self._consumer.get(path, timeout=timeout, proxies=proxies)
        if method == "POST":
            return self._consumer.post(path, json=body, timeout=timeout, proxies=proxies)
        if method == "DELETE":
            return self._consumer.delete(path, timeout=timeout, proxies=proxies)
        if method == "PATCH":
            raw = requests.patch(self.url + path, json=body, timeout=timeout, proxies=proxies)
            return cast(requests.Response, validate_response(raw))
        raise ValueError(f"unsupported HTTP method {method!r}")

    def _refused(self, method: str, path: str, status: int, content: bytes) -> ToxiproxyRefused:
        return ToxiproxyRefused(
            f"Toxiproxy at {self.url} refused {method} {path}: "
            f"{_server_message(content)} (HTTP {status})",
            status=status,
        )

    def _decode(self, method: str, path: str, response: requests.Response) -> object:
        if response.status_code >= 400:
            raise self._refused(method, path, response.status_code, response.content)
        if not response.content.strip():
            return None
        try:
            return cast(object, response.json())
        except ValueError:
            # GET /version answered plain text before Toxiproxy 2.10.
            return response.content.decode("utf-8", errors="replace").strip()

    def version(self) -> str:
        """The server's version (``git`` for a build without version ldflags).

        Raises:
            FaultLayerError: the server cannot be reached or answered an error.
        """
        answer = self.request("GET", "/version")
        if isinstance(answer, dict):
            return str(answer.get("version", answer))
        return str(answer)

    def __repr__(self) -> str:
        return f"ToxiproxyClient({self.url!r}, timeout={self.timeout:g})"


def _done_by_earlier_attempt(method: str, status: int) -> bool:
    """Whether a retry's refusal shows the timed-out attempt did the work (created, deleted)."""
    return (method, status) in (("DELETE", 404), ("POST", 409))


def _default_context() -> str:
    return "is toxiproxy-server running there? check TOXIPROXY_URL"
