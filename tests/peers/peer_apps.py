"""The smallest applications the Python HTTP servers of tests/peers serve.

One ASGI app (uvicorn, hypercorn) and one WSGI app (waitress, gunicorn) that
do what the http codec's requests expect of any web application: read the
whole request body, answer ``200`` with that body (an echo; ``ok\\n`` when it
is empty), never depend on the time or a counter, so two plays of the same
requests get the same responses. HEAD gets the headers of a GET and no body:
the application leaves the body out itself, as web frameworks do (waitress
sends whatever a WSGI application returns, even to HEAD; gunicorn and the
h11 servers drop it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

_EMPTY = b"ok\n"


async def asgi_app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Echo the request body (or ``ok``) with a 200; lifespan events are acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    reply = bytes(body) or _EMPTY
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(reply))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else reply})


def wsgi_app(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    """Echo the request body (or ``ok``) with a 200."""
    body = environ["wsgi.input"].read()
    reply = body or _EMPTY
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(reply)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [reply]
