"""The marker's protocol keys: a codec by reference, ``requests=`` and ``preamble=``."""

from __future__ import annotations

from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.errors import UsageError
from wirefault.plugin_support import _preamble, _samples, property_names_for

MODBUS = {"codec": "lenfield", "length_offset": 4, "length_bytes": 2}
READ = bytes.fromhex("000100000006010300000001")
HERE = Address("tcp", "127.0.0.1", 502)


def test_requests_and_preamble_are_not_codec_options() -> None:
    names = property_names_for({**MODBUS, "requests": [READ], "preamble": b"HELLO"})
    assert "reassembly" in names and "pipelining" in names


def test_a_codec_reference_selects_its_properties() -> None:
    names = property_names_for({"codec": "wirefault.codecs.lenfield:LenFieldCodec"})
    assert "malformed" in names


def test_requests_are_a_list_of_requests_or_a_request_file(tmp_path: Path) -> None:
    codec = get_codec("lenfield", length_offset=4, length_bytes=2)
    assert _samples([READ + READ], codec, HERE) == (READ, READ)
    path = tmp_path / "r.txt"
    path.write_text("\\x00\\x01\\x00\\x00\\x00\\x06\\x01\\x03\\x00\\x00\\x00\\x01\n")
    assert _samples(str(path), codec, HERE) == (READ,)
    with pytest.raises(UsageError, match=r"requests=\[...\]\[0\]: it ends inside"):
        _samples([READ[:-1]], codec, HERE)
    with pytest.raises(UsageError, match="takes a file path or a non-empty list of bytes"):
        _samples(["text"], codec, HERE)


def test_a_preamble_is_bytes_text_or_a_list() -> None:
    assert _preamble(b"HELLO\r\n") == (b"HELLO\r\n",)
    assert _preamble("AUTH x\\r\\n") == (b"AUTH x\r\n",)
    assert _preamble([b"a", b"b"]) == (b"a", b"b")
    with pytest.raises(UsageError, match="preamble= takes bytes"):
        _preamble(42)
