"""``proxy --record``'s relay: what clients send, cut into requests, written as a request file."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from wirefault.addresses import Address
from wirefault.codecs import LenFieldCodec, get_codec
from wirefault.recorder import RequestRecorder
from wirefault.samples import load_requests

MODBUS = LenFieldCodec(length_offset=4, length_bytes=2)
READ = bytes.fromhex("000100000006010300000001")
WRITE = bytes.fromhex("00020000000601060001002a")


def echo(conn: socket.socket, seen: list[object]) -> None:
    conn.settimeout(5)
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
    except OSError:
        pass


def read_back(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(5)
    got = b""
    while len(got) < size:
        data = sock.recv(65536)
        assert data, got
        got += data
    return got


def wait_for_lines(path: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        lines = [x for x in path.read_text().splitlines() if x]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_requests_are_recorded_whole_whatever_the_client_writes(
    tiny_server, tmp_path: Path
) -> None:
    server = tiny_server(echo)
    path = tmp_path / "recorded.txt"
    with RequestRecorder(Address("tcp", "127.0.0.1", 0), server.address, MODBUS, path) as rec:
        with socket.create_connection((rec.listen.host, rec.listen.port)) as client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            stream = READ + WRITE + READ
            for piece in (stream[:3], stream[3:14], stream[14:]):  # cut mid-header and mid-body
                client.sendall(piece)
                time.sleep(0.01)
            assert read_back(client, len(stream)) == stream  # relayed both ways
            client.sendall(WRITE[:5])  # unfinished at close
        lines = wait_for_lines(path, 5)
    assert lines[0].startswith("# requests recorded by wirefault proxy")
    assert lines[-1] == "# connection 1: 5 bytes of an unfinished request not recorded"
    assert load_requests(path, MODBUS, port=None) == (READ, WRITE, READ)


def test_what_the_codec_cannot_frame_stops_recording_that_connection_only(
    tiny_server, tmp_path: Path
) -> None:
    server = tiny_server(echo)
    path = tmp_path / "recorded.txt"
    resp = get_codec("resp")
    with RequestRecorder(Address("tcp", "127.0.0.1", 0), server.address, resp, path) as rec:
        with socket.create_connection((rec.listen.host, rec.listen.port)) as bad:
            bad.sendall(b"*1\r\n!oops\r\n")
            read_back(bad, 10)  # still relayed
        with socket.create_connection((rec.listen.host, rec.listen.port)) as good:
            good.sendall(b"*1\r\n$4\r\nPING\r\n")
            read_back(good, 14)
        lines = wait_for_lines(path, 3)
    assert any(x.startswith("# connection 1: not recorded from here: resp:") for x in lines)
    assert load_requests(path, resp, port=None) == (b"*1\r\n$4\r\nPING\r\n",)
