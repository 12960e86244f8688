"""The API's routes: Toxiproxy 2.12's (``api.go``), and the same under ``/wirefault/``.

Each route maps methods to a handler; a handler reads its arguments and body
from a :class:`Request`, asks the :class:`~wirefault.faults.api._registry.ProxyRegistry`
and answers through the request's :class:`Replier` (the HTTP handler, ``_http.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Protocol

from wirefault.faults.api._gojson import GoDecodeError, parse_body
from wirefault.faults.api._registry import Dialect, ProxyRecord, ProxyRegistry
from wirefault.faults.api._toxics import GO_TOXICS, ApiError, bad_body
from wirefault.faults.toxics import TOXICS

__all__ = ["API_VERSION", "Replier", "Request", "route"]

#: The Toxiproxy release whose API this serves (wirefault's version goes in as build metadata).
API_VERSION = "2.12.0"


class Replier(Protocol):
    """What a handler answers through (the HTTP handler of the connection)."""

    @property
    def registry(self) -> ProxyRegistry:
        """The proxies the API manages."""

    def read_body(self) -> bytes:
        """The request body."""

    def reply(self, status: int, body: bytes, content_type: str | None) -> None:
        """A complete answer."""

    def reply_json(self, value: object, status: int = HTTPStatus.OK) -> None:
        """A JSON answer."""

    def reply_empty(self) -> None:
        """204 No Content."""


class Request:
    """One request being answered: its route arguments, body and dialect."""

    def __init__(self, handler: Replier, args: list[str], dialect: Dialect) -> None:
        self.handler = handler
        self.args = args
        self.dialect = dialect
        self.registry = handler.registry

    def body(self) -> object:
        """The parsed JSON body.

        Raises:
            ApiError: 400 ``bad request body: ...`` with Go's decoder message.
        """
        try:
            return parse_body(self.handler.read_body())
        except GoDecodeError as exc:
            raise bad_body(str(exc)) from None


_Route = tuple[str, ...]
_Handler = Callable[[Request], None]


# -- handlers ---------------------------------------------------------------------------------


def _proxy_index(req: Request) -> None:
    proxies = req.registry.proxies(req.dialect)
    req.handler.reply_json({r.name: r.to_json(req.dialect) for r in sorted(proxies, key=_name)})


def _name(record: ProxyRecord) -> str:
    return record.name


def _proxy_create(req: Request) -> None:
    record = req.registry.create(req.body(), req.dialect)
    req.handler.reply_json(record.to_json(req.dialect), HTTPStatus.CREATED)


def _populate(req: Request) -> None:
    records: list[ProxyRecord] | None
    error: ApiError | None
    try:
        body = req.body()
    except ApiError as exc:
        records, error = None, exc
    else:
        records, error = req.registry.populate(body)
    shown = None if not records else [r.to_json(req.dialect) for r in records]
    answer: dict[str, object] = {}
    if error is not None:
        answer = {"error": error.message, "status": error.status}
    answer["proxies"] = shown
    req.handler.reply_json(answer, error.status if error else HTTPStatus.CREATED)


def _proxy_show(req: Request) -> None:
    req.handler.reply_json(req.registry.get(req.args[0], req.dialect).to_json(req.dialect))


def _proxy_update(req: Request) -> None:
    record = req.registry.update(req.args[0], req.body(), req.dialect)
    req.handler.reply_json(record.to_json(req.dialect))


def _proxy_delete(req: Request) -> None:
    req.registry.delete(req.args[0], req.dialect)
    req.handler.reply_empty()


def _toxic_index(req: Request) -> None:
    proxy = req.registry.get(req.args[0], req.dialect)
    req.handler.reply_json(proxy.to_json(req.dialect)["toxics"])


def _toxic_create(req: Request) -> None:
    toxic = req.registry.add_toxic(req.args[0], req.body(), req.dialect)
    shown = toxic.toxiproxy_json() if req.dialect == "toxiproxy" else toxic.wirefault_json()
    req.handler.reply_json(shown)


def _toxic_show(req: Request) -> None:
    toxic = req.registry.get(req.args[0], req.dialect).toxic(req.args[1])
    shown = toxic.toxiproxy_json() if req.dialect == "toxiproxy" else toxic.wirefault_json()
    req.handler.reply_json(shown)


def _toxic_update(req: Request) -> None:
    toxic = req.registry.update_toxic(req.args[0], req.args[1], req.body(), req.dialect)
    shown = toxic.toxiproxy_json() if req.dialect == "toxiproxy" else toxic.wirefault_json()
    req.handler.reply_json(shown)


def _toxic_delete(req: Request) -> None:
    req.registry.remove_toxic(req.args[0], req.args[1], req.dialect)
    req.handler.reply_empty()


def _reset(req: Request) -> None:
    req.registry.reset()
    req.handler.reply_empty()


def _version(req: Request) -> None:
    from wirefault import __version__

    body = f'{{"version": "{API_VERSION}+wirefault.{__version__}"}}\n'
    req.handler.reply(HTTPStatus.OK, body.encode(), "application/json;charset=utf-8")


def _toxic_types(req: Request) -> None:
    """wirefault's own: every toxic type, its default attributes, where it applies."""
    req.handler.reply_json(
        {
            name: {
                "attributes": cls().to_json()["attributes"],
                "transports": sorted(cls.transports),
                "toxiproxy": name in GO_TOXICS,
            }
            for name, cls in sorted(TOXICS.items())
        }
    )


#: Path patterns ("*" is an argument) and the handler of each method.
_ROUTES: dict[_Route, dict[str, _Handler]] = {
    ("reset",): {"POST": _reset},
    ("proxies",): {"GET": _proxy_index, "POST": _proxy_create},
    ("populate",): {"POST": _populate},
    ("proxies", "*"): {
        "GET": _proxy_show,
        "POST": _proxy_update,
        "PATCH": _proxy_update,
        "DELETE": _proxy_delete,
    },
    ("proxies", "*", "toxics"): {"GET": _toxic_index, "POST": _toxic_create},
    ("proxies", "*", "toxics", "*"): {
        "GET": _toxic_show,
        "POST": _toxic_update,
        "PATCH": _toxic_update,
        "DELETE": _toxic_delete,
    },
    ("version",): {"GET": _version},
}
#: wirefault's dialect has the proxy and toxic routes, and a list of toxic types.
_WIREFAULT_ROUTES: dict[_Route, dict[str, _Handler]] = {
    **{route: methods for route, methods in _ROUTES.items() if route[0] == "proxies"},
    ("toxics",): {"GET": _toxic_types},
}


def route(segments: list[str], dialect: Dialect) -> tuple[dict[str, _Handler], list[str]] | None:
    """The methods of the route matching ``segments``, and its arguments."""
    routes = _ROUTES if dialect == "toxiproxy" else _WIREFAULT_ROUTES
    for pattern, methods in routes.items():
        if len(pattern) != len(segments):
            continue
        args = []
        for want, got in zip(pattern, segments, strict=True):
            if want == "*":
                if not got:
                    break
                args.append(got)
            elif want != got:
                break
        else:
            return methods, args
    return None
