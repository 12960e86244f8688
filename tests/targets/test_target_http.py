"""The reference HTTP/1.1 server: keep-alive, chunked bodies, and refusals that close."""

from __future__ import annotations

import socket

from conftest import ServerPool
from targets_support import connect, http_request, read_http_replies, recv_to_eof


def test_keep_alive_serves_two_requests_on_one_connection(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        (first,) = read_http_replies(sock, 1, method=b"GET")
        sock.sendall(http_request(b"second"))
        (second,) = read_http_replies(sock, 1)
    assert (first.status, second.status) == (200, 200)
    assert first.body.startswith(b"wirefault")
    assert second.body == b"second"


def test_responses_carry_date_and_server_headers(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        (reply,) = read_http_replies(sock, 1, method=b"GET")
    assert reply.headers[b"date"].endswith(b" GMT")
    assert reply.headers[b"server"].startswith(b"wirefault")


def test_chunked_request_body_is_echoed_whole(pool: ServerPool) -> None:
    request = (
        b"PUT /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\n\r\n"
    )
    with connect(pool.get("http").address) as sock:
        sock.sendall(request)
        (reply,) = read_http_replies(sock, 1)
    assert (reply.status, reply.body) == (200, b"hello, world")


def test_malformed_request_gets_400_then_close(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = recv_to_eof(sock)  # the server closes after answering
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in reply.lower()


def test_body_over_one_mebibyte_gets_413_then_close(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1048577\r\n\r\nabc")
        reply = recv_to_eof(sock)
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_chunked_body_over_one_mebibyte_gets_413(pool: ServerPool) -> None:
    chunk = b"x" * 65536
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(17):  # 17 x 64 KiB > 1 MiB
                sock.sendall(b"10000\r\n" + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before we finish sending
        sock.shutdown(socket.SHUT_WR)
        reply = recv_to_eof(sock)
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_unknown_path_is_404_and_keeps_the_connection(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: test\r\n\r\n" + http_request(b"after"))
        replies = read_http_replies(sock, 2, method=b"GET")
    assert [r.status for r in replies] == [404, 200]


def test_head_gets_headers_without_a_body(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: test\r\n\r\n")
        (reply,) = read_http_replies(sock, 1, method=b"HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert int(reply.headers[b"content-length"]) > 0


def test_http_1_0_request_is_answered_then_closed(pool: ServerPool) -> None:
    with connect(pool.get("http").address) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = recv_to_eof(sock)
    assert reply.startswith(b"HTTP/1.1 200 ")
