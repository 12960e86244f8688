"""Parsing of the addresses users type."""

from __future__ import annotations

import pytest

from wirefault.addresses import Address, parse_address, parse_hostport
from wirefault.errors import UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:80", Address("tcp", "127.0.0.1", 80)),
        ("tcp://localhost:8080", Address("tcp", "localhost", 8080)),
        ("udp://127.0.0.1:53", Address("udp", "127.0.0.1", 53)),
        ("[::1]:9000", Address("tcp", "::1", 9000)),
        ("udp://[::1]:9000", Address("udp", "::1", 9000)),
        ("unix:///tmp/app.sock", Address("unix", path="/tmp/app.sock")),
        ("TCP://127.0.0.1:1", Address("tcp", "127.0.0.1", 1)),
    ],
)
def test_parses_every_documented_form(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1",
        "127.0.0.1:",
        ":80",
        "127.0.0.1:http",
        "127.0.0.1:70000",
        "::1:80",
        "[::1]80",
        "[::1",
        "sctp://127.0.0.1:1",
        "unix://relative.sock",
        "127.0.0.1:0",
    ],
)
def test_rejects_bad_addresses_with_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match=r"HOST:PORT|port|scheme|absolute|host"):
        parse_address(text)


def test_port_zero_allowed_only_when_asked() -> None:
    assert parse_address("127.0.0.1:0", allow_zero=True).port == 0


def test_ipv6_is_bracketed_when_formatted() -> None:
    assert Address("tcp", "::1", 80).hostport == "[::1]:80"
    assert str(Address("udp", "127.0.0.1", 5)) == "udp://127.0.0.1:5"
    assert parse_hostport("[::1]:7") == ("::1", 7)
