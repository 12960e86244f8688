"""The pcap of ``wirefault show --pcap``: parsed back with struct and checked field by field."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from show_replays import SCRIPT, events_replay, two_conns

from wirefault.errors import UsageError
from wirefault.report.pcap import EPOCH_BASE, write_pcap
from wirefault.transcript import Event, Transcript

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@dataclass(frozen=True)
class Packet:
    """One parsed record: IPv4 plus TCP or UDP."""

    time: float
    src: tuple[bytes, int]
    dst: tuple[bytes, int]
    proto: int
    seq: int = 0
    ack: int = 0
    flags: int = 0
    payload: bytes = b""


def _parse(path: Path) -> list[Packet]:
    blob = path.read_bytes()
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack("<IHHiIII", blob[:24])
    assert (magic, major, minor, zone, sigfigs) == (0xA1B2C3D4, 2, 4, 0, 0)
    assert (snaplen, linktype) == (262144, 101)
    packets = []
    offset = 24
    while offset < len(blob):
        secs, usecs, incl, orig = struct.unpack("<IIII", blob[offset : offset + 16])
        assert incl == orig
        ip = blob[offset + 16 : offset + 16 + incl]
        offset += 16 + incl
        assert ip[0] == 0x45
        assert struct.unpack("!H", ip[2:4])[0] == len(ip)
        assert _ones_sum(ip[:20]) == 0xFFFF, "bad IPv4 header checksum"
        proto, src_ip, dst_ip = ip[9], ip[12:16], ip[16:20]
        body = ip[20:]
        pseudo = struct.pack("!4s4sBBH", src_ip, dst_ip, 0, proto, len(body))
        assert _ones_sum(pseudo + body) == 0xFFFF, "bad TCP/UDP checksum"
        sport, dport = struct.unpack("!HH", body[:4])
        when = secs + usecs / 1e6
        if proto == 6:
            seq, ack, off, flags = struct.unpack("!IIBB", body[4:14])
            payload = body[(off >> 4) * 4 :]
            packets.append(
                Packet(when, (src_ip, sport), (dst_ip, dport), 6, seq, ack, flags, payload)
            )
        else:
            assert proto == 17
            assert struct.unpack("!H", body[4:6])[0] == len(body)
            packets.append(Packet(when, (src_ip, sport), (dst_ip, dport), 17, payload=body[8:]))
    return packets


LOOPBACK = bytes([127, 0, 0, 1])


def _conn(packets: list[Packet], port: int) -> list[Packet]:
    return [p for p in packets if port in (p.src[1], p.dst[1]) and p.src[0] == LOOPBACK]


def _check_sequence_numbers(packets: list[Packet], client_port: int) -> None:
    """Each side's seq continues where it left off and every ACK acks what the peer sent."""
    next_seq: dict[bool, int] = {}
    for p in packets:
        up = p.src[1] == client_port
        if p.flags & SYN:
            next_seq[up] = p.seq + 1  # SYN counts one
            continue
        if p.flags & ACK:
            assert p.ack == next_seq[not up], p
        assert p.seq == next_seq[up], p
        next_seq[up] = p.seq + len(p.payload) + (1 if p.flags & FIN else 0)


@pytest.fixture
def two(tmp_path: Path) -> list[Packet]:
    out = tmp_path / "two.pcap"
    write_pcap(two_conns(tmp_path), out)
    return _parse(out)


def test_every_packet_is_ipv4_on_loopback_from_port_40000_plus_conn(two: list[Packet]) -> None:
    assert {p.proto for p in two} == {6}
    clients = {p.src for p in two if p.dst[1] == 4000}
    assert clients == {(LOOPBACK, 40000), (LOOPBACK, 40001)}
    assert {p.dst for p in two if p.src[1] == 4000} == clients


def test_connections_open_with_a_three_way_handshake(two: list[Packet]) -> None:
    for port in (40000, 40001):
        flags = [p.flags for p in _conn(two, port)]
        assert flags[:3] == [SYN, SYN | ACK, ACK]


def test_sequence_and_ack_numbers_are_consistent(two: list[Packet]) -> None:
    for port in (40000, 40001):
        _check_sequence_numbers(_conn(two, port), port)


def test_payloads_travel_in_the_right_direction(two: list[Packet]) -> None:
    c0 = _conn(two, 40000)
    assert [p.payload for p in c0 if p.src[1] == 40000 and p.payload] == [b"hello"]
    assert [p.payload for p in c0 if p.dst[1] == 40000 and p.payload] == [b"OK hello"]
    assert [p.payload for p in _conn(two, 40001) if p.payload] == [SCRIPT]


def test_eof_is_a_server_fin_and_abort_a_client_rst(two: list[Packet]) -> None:
    c0, c1 = _conn(two, 40000), _conn(two, 40001)
    assert [p.src[1] for p in c0 if p.flags & FIN] == [4000]
    assert not any(p.flags & RST for p in c0)
    last = c1[-1]
    assert last.flags & RST
    assert last.src[1] == 40001


def test_timestamps_follow_the_events_and_never_go_back(two: list[Packet]) -> None:
    times = [p.time for p in two]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    rst = two[-1]
    assert rst.time - two[0].time == pytest.approx(0.016 - 0.0001, abs=1e-5)


def _first_packet_time(tmp_path: Path, started: float | None) -> float:
    events = [Event(0.25, "open", 0), Event(0.5, "close", 0)]
    out = tmp_path / "timed.pcap"
    write_pcap(events_replay(tmp_path, events, started=started), out)
    return _parse(out)[0].time


def test_packets_carry_the_real_time_of_the_play(tmp_path: Path) -> None:
    started = 1_795_000_000.125  # 2026-11-18 11:06:40 UTC, when the recorded play began
    assert _first_packet_time(tmp_path, started) == pytest.approx(started + 0.25, abs=1e-6)


def test_a_file_without_a_start_time_begins_at_the_fixed_epoch(tmp_path: Path) -> None:
    assert _first_packet_time(tmp_path, None) == pytest.approx(EPOCH_BASE + 0.25, abs=1e-6)


def test_a_transcript_records_when_its_play_began() -> None:
    before = time.time()
    started = Transcript().to_json()["started"]
    assert before - 1e-3 <= started <= time.time() + 1e-3


def test_big_sends_are_split_into_segments(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 600  # 153600 bytes
    events = [Event(0.0, "open", 0), Event(0.1, "send", 0, payload), Event(0.2, "close", 0)]
    out = tmp_path / "big.pcap"
    write_pcap(events_replay(tmp_path, events), out)
    packets = _parse(out)
    data = [p for p in packets if p.payload]
    assert [len(p.payload) for p in data] == [65000, 65000, 23600]
    assert b"".join(p.payload for p in data) == payload
    _check_sequence_numbers(packets, 40000)
    assert packets[-2].flags == FIN | ACK


def test_half_close_and_server_reset(tmp_path: Path) -> None:
    events = [
        Event(0.0, "open", 0),
        Event(0.1, "half_close", 0),
        Event(0.2, "recv", 0, b"bye"),
        Event(0.3, "rst", 0),
    ]
    out = tmp_path / "hc.pcap"
    write_pcap(events_replay(tmp_path, events), out)
    packets = _parse(out)
    _check_sequence_numbers(packets, 40000)
    fin = next(p for p in packets if p.flags & FIN)
    assert fin.src[1] == 40000
    assert packets[-1].flags & RST
    assert packets[-1].src[1] == 4000


def test_refused_is_a_syn_answered_by_rst_ack(tmp_path: Path) -> None:
    out = tmp_path / "refused.pcap"
    write_pcap(events_replay(tmp_path, [Event(0.0, "refused", 0, detail="refused")]), out)
    syn, rst = _parse(out)
    assert syn.flags == SYN
    assert rst.flags == RST | ACK
    assert rst.ack == syn.seq + 1


def test_a_non_ipv4_target_is_drawn_as_127_0_0_2(tmp_path: Path) -> None:
    replay = events_replay(tmp_path, [Event(0.0, "open", 0)], address="[::1]:7000")
    out = tmp_path / "v6.pcap"
    write_pcap(replay, out)
    assert _parse(out)[0].dst == (bytes([127, 0, 0, 2]), 7000)


def test_udp_replays_give_one_udp_packet_per_datagram(tmp_path: Path) -> None:
    events = [
        Event(0.0, "send", 0, b"ping"),
        Event(0.1, "recv", 0, b"pong"),
        Event(0.2, "retry", 0, b"ping"),
        Event(0.3, "send", 1, b""),
    ]
    replay = events_replay(tmp_path, events, address="udp://127.0.0.1:5353", codec="datagram")
    out = tmp_path / "udp.pcap"
    write_pcap(replay, out)
    packets = _parse(out)
    assert {p.proto for p in packets} == {17}
    assert [(p.src[1], p.dst[1], p.payload) for p in packets] == [
        (40000, 5353, b"ping"),
        (5353, 40000, b"pong"),
        (40000, 5353, b"ping"),
        (40001, 5353, b""),
    ]


def test_an_unwritable_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write the pcap file"):
        write_pcap(two_conns(tmp_path), tmp_path / "no" / "such" / "dir.pcap")
