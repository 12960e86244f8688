"""Go's JSON and address rules as the API server reproduces them (pure functions, no sockets).

The expected strings are what toxiproxy-server 2.12 answered to the same
input (tests/conformance/test_toxiproxy_api.py compares the two servers live).
"""

from __future__ import annotations

import pytest

from wirefault.faults.api._goaddr import GoAddrError, resolve_tcp_addr, split_host_port
from wirefault.faults.api._gojson import (
    GoDecodeError,
    GoFloat32,
    GoNumber,
    decode_fields,
    encode,
    format_float32,
    parse_body,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (2.0, "2"), (0.5, "0.5"), (0.1234567891, "0.12345679"), (1e-5, "0.00001"),
     (1e-7, "1e-7"), (0.2, "0.2"), (3.5e25, "3.5e+25")],
)  # fmt: skip
def test_float32_is_written_in_its_shortest_form(value: float, text: str) -> None:
    assert format_float32(value) == text
    assert encode({"toxicity": GoFloat32(value)}) == f'{{"toxicity":{text}}}'


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "EOF"),
        (b"  \n", "EOF"),
        (b"{", "unexpected EOF"),
        (b'{"a":}', "invalid character '}' looking for beginning of value"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b"NaN", "invalid character 'N' looking for beginning of value"),
    ],
)
def test_bad_bodies_get_gos_messages(raw: bytes, message: str) -> None:
    with pytest.raises(GoDecodeError, match=f"^{message}$"):
        parse_body(raw)


def test_only_the_first_value_of_a_body_counts() -> None:
    assert parse_body(b"5 trailing garbage") == GoNumber("5")


def test_fields_match_case_insensitively_and_null_leaves_them_out() -> None:
    body = parse_body(b'{"NAME": "a", "upstream": null, "Enabled": true, "other": 1}')
    fields, error = decode_fields(
        body, {"name": "string", "upstream": "string", "enabled": "bool"}, struct_name="Proxy"
    )
    assert (fields, error) == ({"name": "a", "enabled": True}, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"latency": 1.5}', "number 1.5 into Go struct field LatencyToxic.attributes.latency"),
        (b'{"latency": 1e2}', "number 1e2 into Go struct field"),
        (b'{"latency": "1"}', "string into Go struct field LatencyToxic.attributes.latency"),
        (b'{"latency": 99999999999999999999}', "number 99999999999999999999 into"),
        (b'{"jitter": true, "latency": "x"}', "bool into Go struct field LatencyToxic.attributes"),
    ],
)  # fmt: skip
def test_integers_must_be_written_as_integers_and_the_first_error_is_told(
    raw: bytes, message: str
) -> None:
    _fields, error = decode_fields(
        parse_body(raw),
        {"latency": "int64", "jitter": "int64"},
        struct_name="LatencyToxic",
        path="attributes",
    )
    assert error is not None and message in error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("local373", "address local373: missing port in address"),
        ("::1:80", "address ::1:80: too many colons in address"),
        ("[::1:0", "address [::1:0: missing ']' in address"),
        ("127.0.0.1:99999", "address 99999: invalid port"),
        ("127.0.0.1:nosuchservice", "lookup tcp/nosuchservice: unknown port"),
    ],
)
def test_addresses_are_refused_with_gos_messages(text: str, message: str) -> None:
    with pytest.raises(GoAddrError, match=f"^{message}$".replace("[", r"\[")):
        resolve_tcp_addr(text)


def test_addresses_resolve_as_go_formats_them() -> None:
    assert str(resolve_tcp_addr("localhost:0")) == "127.0.0.1:0"
    assert str(resolve_tcp_addr("[::1]:80")) == "[::1]:80"
    assert str(resolve_tcp_addr(":8080")) == ":8080"
    assert split_host_port("[::1]:80") == ("::1", "80")
