"""wirefault against Python's HTTP servers from PyPI: uvicorn (h11), hypercorn, waitress, gunicorn.

Each serves the tiny applications of ``peer_apps.py`` on a free loopback port
and is stopped afterwards (its whole process group, gunicorn's worker too).
The fuzz run must pass every default property once the server's documented
strictness findings (docs/REAL_SERVERS.md) are left out with ``--skip-rule``;
each finding is pinned below by a request written by hand, and the http codec
reads each server's real responses one byte at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from peers_support import (
    connect,
    describe,
    feed_bytewise,
    fuzz,
    listener_pid,
    need_module,
    python_server_command,
    read_frames,
    running,
)

from wirefault.addresses import Address
from wirefault.codecs.http import HttpCodec

CODEC = HttpCodec()

#: The strictness rules each server breaks (docs/REAL_SERVERS.md), as --skip-rule takes them.
#: obs-fold: a folded Host is unfolded to "wire fault", then served like any invalid Host.
FINDINGS = {
    "uvicorn": ("host-valid", "obs-fold", "close-after-te-and-cl"),
    "hypercorn": ("host-valid", "obs-fold", "close-after-te-and-cl"),
    "waitress": (
        "host-required",
        "host-single",
        "host-valid",
        "obs-fold",
        "close-after-te-and-cl",
        "close-after-http10-te",
        "chunk-line-crlf",
    ),
    "gunicorn": ("host-required", "host-valid"),
}


@pytest.fixture(scope="module", params=sorted(FINDINGS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Address]]:
    """One Python HTTP server serving peer_apps; stopped afterwards."""
    name: str = request.param
    need_module(name)
    command = python_server_command(name)
    with running(command, Address("tcp", "127.0.0.1", 0), listener_pid) as address:
        yield name, address


def statuses(address: Address, request: bytes, count: int) -> list[int]:
    """The status codes of up to ``count`` responses to ``request`` on a fresh connection."""
    with connect(address) as sock:
        sock.sendall(request)
        frames = CODEC.response_decoder().feed(read_frames(sock, count, CODEC))
    return [int(frame.split(b" ", 2)[1]) for frame in frames]


GET = b"GET / HTTP/1.1\r\nHost: wirefault\r\n\r\n"
TE = b"Transfer-Encoding: chunked\r\n"


@pytest.mark.slow
def test_fuzz_passes_every_default_property_but_the_documented_findings(
    server: tuple[str, Address], tmp_path: Path
) -> None:
    name, address = server
    run = fuzz(
        address,
        "http",
        tmp_path,
        *("--backend", "embedded", "--max-examples", "15", "--seed", "1"),
        *("--skip-rule", ",".join(FINDINGS[name])),
    )
    assert run.returncode == 0 and not run.failures, describe(run)
    assert set(run.summary["properties"].values()) == {"passed"}, describe(run)


def test_responses_decode_one_byte_at_a_time(server: tuple[str, Address]) -> None:
    _, address = server
    body = b"a body to echo"
    post = b"POST /echo HTTP/1.1\r\nHost: wirefault\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    chunked = b"POST /echo HTTP/1.1\r\nHost: wirefault\r\n" + TE + b"\r\n3\r\nabc\r\n0\r\n\r\n"
    requests = [
        GET,
        post,
        chunked,
        b"GET / HTTP/1.1\r\nHost: wirefault\r\nConnection: close\r\n\r\n",
    ]
    with connect(address) as sock:
        sock.sendall(b"".join(requests))
        raw = read_frames(sock, len(requests), CODEC)
    frames, pending = feed_bytewise(CODEC, raw, eof=True)
    assert frames == CODEC.response_decoder().feed(raw) and pending == 0
    assert [f.rsplit(b"\r\n\r\n", 1)[1] for f in frames] == [b"ok\n", body, b"abc", b"ok\n"]


# -- the documented findings, by hand (docs/REAL_SERVERS.md) -------------------------------------


def on(*names: str) -> pytest.MarkDecorator:
    """Run the test against these servers only (the ones the finding is about)."""
    return pytest.mark.parametrize("server", names, indirect=True)


@on("uvicorn", "hypercorn", "waitress", "gunicorn")
@pytest.mark.parametrize("host", [b"wire fault", b'wire"fault', b"a@b", b"a/b", b"wire{fault"])
def test_h11_servers_and_waitress_and_gunicorn_serve_a_host_that_is_not_a_host(
    server: tuple[str, Address], host: bytes
) -> None:
    # RFC 9112 section 3.2: a Host that is not uri-host [":" port] MUST get a 400.
    address = server[1]
    assert statuses(address, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n", 1) == [200]


@on("waitress", "gunicorn")
def test_waitress_and_gunicorn_serve_an_http11_request_without_host(
    server: tuple[str, Address],
) -> None:
    # RFC 9112 section 3.2: an HTTP/1.1 request without Host MUST get a 400.
    address = server[1]
    assert statuses(address, b"GET / HTTP/1.1\r\n\r\n", 1) == [200]


@on("waitress")
def test_waitress_serves_two_host_lines(server: tuple[str, Address]) -> None:
    # RFC 9112 section 3.2: more than one Host field line MUST get a 400.
    address = server[1]
    request = b"GET / HTTP/1.1\r\nHost: wirefault\r\nHost: other\r\n\r\n"
    assert statuses(address, request, 1) == [200]


@on("uvicorn", "hypercorn", "waitress")
def test_h11_servers_and_waitress_keep_the_connection_after_both_framings(
    server: tuple[str, Address],
) -> None:
    # RFC 9112 section 6.1: after a request with both Transfer-Encoding and Content-Length
    # the server MUST close the connection. They frame it by Transfer-Encoding (rightly:
    # Content-Length here is 15, the chunked body 11 bytes) and serve the GET behind it.
    address = server[1]
    both = b"POST / HTTP/1.1\r\nHost: w\r\nContent-Length: 15\r\n" + TE + b"\r\n1\r\nA\r\n0\r\n\r\n"
    assert statuses(address, both + GET, 2) == [200, 200]


@on("waitress")
def test_waitress_reads_an_http10_chunked_body_as_the_next_request(
    server: tuple[str, Address],
) -> None:
    # RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing,
    # and the server MUST close after it. waitress ignores Transfer-Encoding in HTTP/1.0,
    # answers the request as bodiless, keeps the connection, and parses the chunked body
    # "5\r\nhello..." as a request (a 400).
    address = server[1]
    http10 = (
        b"POST / HTTP/1.0\r\nHost: w\r\nConnection: keep-alive\r\n"
        + TE
        + b"\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    with connect(address) as sock:
        sock.sendall(http10)
        frames = CODEC.response_decoder().feed(read_frames(sock, 2, CODEC))
    assert [f.split(b"\r\n", 1)[0] for f in frames] == [
        b"HTTP/1.0 200 OK",
        b"HTTP/1.0 400 Bad Request",
    ]
    assert frames[0].endswith(b"\r\n\r\nok\n")  # the app saw no body: "hello" was not read


@on("waitress")
def test_waitress_takes_a_bare_lf_before_the_crlf_of_a_chunk_size_line(
    server: tuple[str, Address],
) -> None:
    # RFC 9112 section 7.1: chunk lines end in CRLF, and "5\n" is no chunk-size. waitress
    # checks the size with re.match(b"^[0-9a-fA-F]+$"), and '$' also matches before a final
    # newline: "5\n" passes, and int() reads it as 5. A bare LF alone still gets a 400.
    address = server[1]
    head = b"POST / HTTP/1.1\r\nHost: w\r\n" + TE + b"\r\n"
    with connect(address) as sock:
        sock.sendall(head + b"5\n\r\nhello\r\n0\r\n\r\n")
        (frame,) = CODEC.response_decoder().feed(read_frames(sock, 1, CODEC))
    assert frame.startswith(b"HTTP/1.1 200 ") and frame.endswith(b"\r\n\r\nhello")
    assert statuses(address, head + b"5\nhello\r\n0\r\n\r\n", 1) == [400]
