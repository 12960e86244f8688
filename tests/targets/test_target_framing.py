"""The line and lenprefix servers: their parsers byte by byte, and their limits on the wire."""

from __future__ import annotations

import struct

import pytest
from conftest import ServerPool
from targets_support import connect, lenprefix_frame, recv_exactly, recv_to_eof

from wirefault.targets.lenprefix import MAX_FRAME, cut_frames
from wirefault.targets.line import MAX_LINE, answer_lines

# -- the parsers, sans I/O ------------------------------------------------------------------


def test_answer_lines_fed_one_byte_at_a_time() -> None:
    stream = b"a\r\nbc\n\nlast"
    incoming = bytearray()
    replies = []
    for byte in stream:
        incoming.append(byte)
        got, too_long = answer_lines(incoming)
        assert not too_long
        replies += got
    assert replies == [b"OK a\n", b"OK bc\n", b"OK \n"]
    assert incoming == b"last"  # a partial line waits for its newline


def test_answer_lines_accepts_a_line_of_exactly_the_limit() -> None:
    incoming = bytearray(b"x" * MAX_LINE + b"\r\n")
    assert answer_lines(incoming) == ([b"OK " + b"x" * MAX_LINE + b"\n"], False)


def test_answer_lines_waits_for_the_newline_after_a_full_line_and_its_cr() -> None:
    incoming = bytearray(b"x" * MAX_LINE + b"\r")
    assert answer_lines(incoming) == ([], False)


@pytest.mark.parametrize(
    "data",
    [b"x" * (MAX_LINE + 1) + b"\n", b"x" * (MAX_LINE + 1), b"x" * MAX_LINE + b"\r\r"],
    ids=["complete", "partial", "partial-cr"],
)
def test_answer_lines_flags_a_line_over_the_limit(data: bytes) -> None:
    assert answer_lines(bytearray(b"ok\n" + data)) == ([b"OK ok\n"], True)


def test_cut_frames_fed_one_byte_at_a_time() -> None:
    stream = lenprefix_frame(b"one") + lenprefix_frame(b"") + lenprefix_frame(b"three")
    incoming = bytearray()
    payloads = []
    for byte in stream:
        incoming.append(byte)
        got, too_large = cut_frames(incoming)
        assert not too_large
        payloads += got
    assert payloads == [b"one", b"", b"three"]
    assert incoming == b""


def test_cut_frames_refuses_an_oversize_header_before_its_payload() -> None:
    incoming = bytearray(lenprefix_frame(b"ok") + struct.pack(">I", MAX_FRAME + 1))
    assert cut_frames(incoming) == ([b"ok"], True)


# -- the servers ----------------------------------------------------------------------------


def test_line_server_strips_carriage_return(pool: ServerPool) -> None:
    with connect(pool.get("line").address) as sock:
        sock.sendall(b"with cr\r\nwithout\n")
        expected = b"OK with cr\nOK without\n"
        assert recv_exactly(sock, len(expected)) == expected


def test_line_server_answers_an_over_long_line_with_err_and_closes(pool: ServerPool) -> None:
    with connect(pool.get("line").address) as sock:
        sock.sendall(b"fine\n" + b"x" * (MAX_LINE + 1) + b"\n" + b"never answered\n")
        assert recv_to_eof(sock) == b"OK fine\nERR line too long\n"


def test_line_server_refuses_an_endless_line_without_waiting_for_its_end(
    pool: ServerPool,
) -> None:
    with connect(pool.get("line").address) as sock:
        sock.sendall(b"y" * (4 * MAX_LINE))  # no newline, ever
        assert recv_to_eof(sock) == b"ERR line too long\n"


def test_lenprefix_server_echoes_a_frame_of_the_maximum_size(pool: ServerPool) -> None:
    payload = bytes(range(256)) * (MAX_FRAME // 256)
    with connect(pool.get("lenprefix").address) as sock:
        sock.sendall(lenprefix_frame(payload))
        assert recv_exactly(sock, 4 + MAX_FRAME) == lenprefix_frame(payload)


def test_lenprefix_server_answers_an_oversize_length_with_err_frame_and_closes(
    pool: ServerPool,
) -> None:
    with connect(pool.get("lenprefix").address) as sock:
        sock.sendall(lenprefix_frame(b"ok") + struct.pack(">I", MAX_FRAME + 1) + b"junk")
        reply = recv_to_eof(sock)
    assert reply == lenprefix_frame(b"ok") + lenprefix_frame(b"ERR frame too large")
