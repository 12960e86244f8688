"""Every property passes on every correct reference server, and on the stdlib's HTTP server.

False alarms are the worst failure a harness can have: these tests are the guard.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _engine_support import run_campaign, start_target

from wirefault.addresses import Address
from wirefault.codecs import get_codec
from wirefault.properties import select_properties
from wirefault.properties.strictness import configure_strictness
from wirefault.target import ServerProcess
from wirefault.targets import all_targets

# Campaigns against live servers: timing-bound, run once per tox run (the `slow` env).
pytestmark = pytest.mark.slow

REFERENCE = [t for t in all_targets() if t.kind == "reference"]
#: RFC rules http.server's SimpleHTTPRequestHandler breaks (docs/REAL_SERVERS.md).
STDLIB_LENIENCIES = (
    "host-required,host-single,host-valid,whitespace-before-first-field,field-name-whitespace,"
    "content-length-valid,chunked-last,bare-cr,nul-in-field,obs-fold,"
    "chunk-data-crlf,chunk-size-hex,chunk-line-crlf"
)


def _failures(result) -> list[str]:
    return [f"{f.property}: {f.message}" for f in result.failures]


@pytest.mark.parametrize("target", REFERENCE, ids=[t.name for t in REFERENCE])
def test_every_property_passes_on_a_correct_reference_server(target, tmp_path: Path) -> None:
    codec = get_codec(target.protocol)
    props = select_properties(
        codec, oracles=["echo"] if target.name.startswith(("echo", "udp", "lenprefix")) else []
    )
    server = start_target(target.name, target.transport)
    try:
        # Unframed (raw) codecs read each reply until 50 ms of quiet: fewer examples.
        examples = 12 if codec.framed else 6
        result = run_campaign(server, target.protocol, props, tmp_path, max_examples=examples)
    finally:
        server.close()
    assert _failures(result) == []
    assert {r.name for r in result.results if r.status == "passed"} == {p.name for p in props}


def test_every_property_passes_on_the_standard_librarys_threading_http_server(
    tmp_path: Path,
) -> None:
    command = f"{sys.executable} -m http.server --bind 127.0.0.1 --directory {tmp_path} {{port}}"
    server = ServerProcess(command, Address("tcp", "127.0.0.1", 0))
    server.start()
    try:
        # Its documented strictness findings (docs/REAL_SERVERS.md): the handler never
        # looks at Host, and reads no body on GET (closing after every response).
        props = configure_strictness(select_properties(get_codec("http")), skip=STDLIB_LENIENCIES)
        result = run_campaign(server, "http", props, tmp_path / "out", max_examples=15)
    finally:
        server.close()
    assert _failures(result) == []
