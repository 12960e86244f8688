"""Toxics as the API reads and shows them: Toxiproxy's JSON, and wirefault's own.

Toxiproxy's routes take Toxiproxy's toxics only, decoded as its server does
(``toxic_collection.go``): defaults ``stream=downstream`` and ``toxicity=1``,
the stream matched case-insensitively but shown as written, the name
``TYPE_STREAM`` by default, attributes decoded into the toxic's Go struct
(integers only; unknown keys ignored; negative values accepted). What the
embedded proxy applies is the matching :class:`~wirefault.faults.toxics.Toxic`:
negative values act as 0 and toxicity is held to [0, 1], which is what
Toxiproxy's toxics make of them (all but a negative bandwidth ``rate``, which
crashes toxiproxy-server at the first byte).

wirefault's routes take any toxic of :mod:`wirefault.faults.toxics` in its
own JSON form (:meth:`~wirefault.faults.toxics.Toxic.to_json`), with ``seed``
and ``connection``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from wirefault.errors import UsageError
from wirefault.faults.api._gojson import GoFloat32, GoNumber, GoObject, decode_fields, kind_of
from wirefault.faults.toxics import TOXICS, Stream, Toxic, toxic_from_json

__all__ = [
    "GO_TOXICS",
    "ApiError",
    "ToxicRecord",
    "bad_body",
    "decode_toxic",
    "decode_toxic_update",
    "decode_wirefault_toxic",
    "plain",
    "record_of",
]

#: Toxiproxy's toxic types: the Go struct each decodes into and its fields.
GO_TOXICS: dict[str, tuple[str, dict[str, str]]] = {
    "latency": ("LatencyToxic", {"latency": "int64", "jitter": "int64"}),
    "bandwidth": ("BandwidthToxic", {"rate": "int64"}),
    "slow_close": ("SlowCloseToxic", {"delay": "int64"}),
    "timeout": ("TimeoutToxic", {"timeout": "int64"}),
    "reset_peer": ("ResetToxic", {"timeout": "int64"}),
    "slicer": ("SlicerToxic", {"average_size": "int", "size_variation": "int", "delay": "int"}),
    "limit_data": ("LimitDataToxic", {"bytes": "int64"}),
    "noop": ("NoopToxic", {}),
}
_WRAPPER = {
    "name": "string",
    "type": "string",
    "stream": "string",
    "toxicity": "float32",
    "attributes": "raw",
}
_UPDATE = {"attributes": "raw", "toxicity": "float32"}
_UPDATE_TYPE = (
    'struct { Attributes interface {} "json:\\"attributes\\""; '
    'Toxicity float32 "json:\\"toxicity\\"" }'
)


class ApiError(Exception):
    """An answer with an error status: ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def bad_body(message: str) -> ApiError:
    """Toxiproxy's ``ErrBadRequestBody`` wrapping a decoder message."""
    return ApiError(f"bad request body: {message}", 400)


@dataclass(frozen=True)
class ToxicRecord:
    """A toxic on a proxy: what Toxiproxy's routes show, and what the proxy applies.

    Attributes:
        name, type, stream, toxicity, attributes: as Toxiproxy shows them (the
            stream as written, toxicity as a float32, attributes as given).
        toxic: the toxic the embedded proxy applies.
    """

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, object]
    toxic: Toxic

    @property
    def upstream(self) -> bool:
        """Whether it acts on the client-to-server stream (listed first, as Toxiproxy does)."""
        return self.toxic.stream == "upstream"

    def toxiproxy_json(self) -> dict[str, Any]:
        """Toxiproxy's JSON of the toxic (keys in its order)."""
        return {
            "attributes": self.attributes,
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": GoFloat32(self.toxicity),
        }

    def wirefault_json(self) -> dict[str, Any]:
        """wirefault's JSON of the toxic that applies (:meth:`Toxic.to_json`)."""
        return self.toxic.to_json()


def _applied(
    type_name: str, values: Mapping[str, int], name: str, stream: str, toxicity: float
) -> Toxic:
    """The embedded toxic for Toxiproxy's values: negatives act as 0, toxicity in [0, 1]."""
    attrs = {key: max(value, 0) for key, value in values.items()}
    direction: Stream = "upstream" if stream.lower() == "upstream" else "downstream"
    default = name == f"{type_name}_{direction}"  # kept as wirefault writes a default name
    return TOXICS[type_name](
        name="" if default else name,
        stream=direction,
        toxicity=min(max(toxicity, 0.0), 1.0),
        **attrs,
    )


def decode_toxic(body: object, taken: set[str]) -> ToxicRecord:
    """A new toxic from a ``POST /proxies/NAME/toxics`` body, checked in Toxiproxy's order.

    Args:
        body: the parsed body.
        taken: the names of the proxy's toxics.

    Raises:
        ApiError: 400 for a bad body, stream or type; 409 for a name in use.
    """
    fields, error = decode_fields(
        body, _WRAPPER, struct_name="ToxicWrapper", value_type="toxics.ToxicWrapper"
    )
    attributes = fields.get("attributes")
    if error is None and attributes is not None and not isinstance(attributes, GoObject):
        error = (
            f"json: cannot unmarshal {kind_of(attributes)} into Go struct field "
            "ToxicWrapper.attributes of type toxics.NoopToxic"
        )
    if error is not None:
        raise bad_body(error)
    stream = str(fields.get("stream", "downstream"))
    if stream.lower() not in ("upstream", "downstream"):
        raise ApiError("stream was invalid, can be either upstream or downstream", 400)
    type_name = str(fields.get("type", ""))
    name = str(fields.get("name", "")) or f"{type_name}_{stream}"
    if type_name not in GO_TOXICS:
        raise ApiError("invalid toxic type", 400)
    if name in taken:
        raise ApiError("toxic already exists", 409)
    struct_name, attr_fields = GO_TOXICS[type_name]
    values, error = decode_fields(
        attributes, attr_fields, struct_name=struct_name, path="attributes"
    )
    if error is not None:
        raise bad_body(error)
    shown = {key: _int(values.get(key, 0)) for key in attr_fields}
    toxicity = _float(fields.get("toxicity", 1.0))
    toxic = _applied(type_name, shown, name, stream, toxicity)
    return ToxicRecord(name, type_name, stream, toxicity, dict(shown), toxic)


def _int(value: object) -> int:
    """An attribute decoded as a Go integer (decode_fields made it an int)."""
    return value if isinstance(value, int) else 0


def _float(value: object) -> float:
    """A toxicity decoded as a Go float32 (decode_fields made it a float)."""
    return float(value) if isinstance(value, int | float) else 1.0


def decode_toxic_update(body: object, record: ToxicRecord) -> ToxicRecord:
    """``record`` with the attributes and toxicity of a ``PATCH`` body (the rest is ignored).

    Raises:
        ApiError: 400 for a bad body.
    """
    fields, error = decode_fields(body, _UPDATE, struct_name="", value_type=_UPDATE_TYPE)
    attributes = fields.get("attributes")
    if record.type not in GO_TOXICS:
        return _wirefault_update(fields, record, error)
    struct_name, attr_fields = GO_TOXICS[record.type]
    values, attr_error = (
        decode_fields(attributes, attr_fields, struct_name=struct_name, path="attributes")
        if isinstance(attributes, GoObject)
        else ({}, None)
    )
    if attributes is not None and not isinstance(attributes, GoObject):
        attr_error = (
            f"json: cannot unmarshal {kind_of(attributes)} into Go struct field "
            f".attributes of type toxics.{struct_name}"
        )
    error = _first(body, error, attr_error)
    if error is not None:
        raise bad_body(error)
    shown = {key: _int(values.get(key, record.attributes.get(key, 0))) for key in attr_fields}
    toxicity = _float(fields.get("toxicity", record.toxicity))
    toxic = _applied(record.type, shown, record.name, record.stream, toxicity)
    return replace(record, toxicity=toxicity, attributes=dict(shown), toxic=toxic)


def _first(body: object, toxicity_error: str | None, attr_error: str | None) -> str | None:
    """Of the two errors, the one Go meets first (in the order the keys are written)."""
    if toxicity_error is None or attr_error is None:
        return toxicity_error or attr_error
    if "Go value of type" in toxicity_error:
        return toxicity_error
    keys = [key.lower() for key, _ in body.pairs] if isinstance(body, GoObject) else []
    attr_first = "attributes" in keys and keys.index("attributes") < keys.index("toxicity")
    return attr_error if attr_first else toxicity_error


def _wirefault_update(
    fields: Mapping[str, object], record: ToxicRecord, error: str | None
) -> ToxicRecord:
    """An update of a toxic only wirefault has: its own attributes, checked by its own rules."""
    if error is not None:
        raise bad_body(error)
    attributes = fields.get("attributes")
    data = record.toxic.to_json()
    if isinstance(attributes, GoObject):
        data["attributes"].update({key: plain(value) for key, value in attributes.pairs})
    if "toxicity" in fields:
        data["toxicity"] = fields["toxicity"]
    try:
        return record_of(toxic_from_json(data))
    except UsageError as exc:
        raise ApiError(str(exc), 400) from None


def plain(value: object) -> Any:
    """A parsed body value back to plain JSON data (numbers as int or float)."""
    if isinstance(value, GoObject):
        return {key: plain(item) for key, item in value.pairs}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, GoNumber):
        text = value.text
        return float(text) if any(c in text for c in ".eE") else int(text)
    return value


def record_of(toxic: Toxic) -> ToxicRecord:
    """The record of a toxic given as a wirefault value (the CLI's, or wirefault's routes')."""
    shown: dict[str, object] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in toxic.attributes().items()
    }
    return ToxicRecord(toxic.key, toxic.type, toxic.stream, toxic.toxicity, shown, toxic)


def decode_wirefault_toxic(body: object, taken: set[str]) -> ToxicRecord:
    """A new toxic from a body in wirefault's own JSON form (``POST /wirefault/.../toxics``).

    Raises:
        ApiError: 400 for a toxic wirefault does not know (the message lists the valid
            ones), 409 for a name in use.
    """
    data = plain(body)
    if not isinstance(data, dict):
        raise ApiError(f"a toxic must be a JSON object, got {kind_of(body)}", 400)
    try:
        toxic = toxic_from_json(data)
    except UsageError as exc:
        raise ApiError(str(exc), 400) from None
    if toxic.key in taken:
        raise ApiError("toxic already exists", 409)
    return record_of(toxic)
