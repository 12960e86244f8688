"""Sample requests: request files (text and captures), their errors, and the preamble."""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirefault.codecs import LenFieldCodec, get_codec
from wirefault.errors import UsageError
from wirefault.escapes import format_escaped, parse_escaped
from wirefault.samples import format_requests, load_preamble, load_requests, read_request_lines

MODBUS = LenFieldCodec(length_offset=4, length_bytes=2)
READ = bytes.fromhex("000100000006010300000001")
WRITE = bytes.fromhex("00020000000601060001002a")


def write(tmp_path: Path, text: str, name: str = "requests.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- text files --------------------------------------------------------------------------------


def test_a_text_file_gives_one_request_per_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# two Modbus requests\n\n"
        + format_escaped(READ)
        + "\n   \n"
        + format_escaped(WRITE)
        + "\n# the end\n",
    )
    assert load_requests(path, MODBUS, port=None) == (READ, WRITE)


def test_a_line_holding_several_requests_gives_each_of_them(tmp_path: Path) -> None:
    path = write(tmp_path, format_escaped(READ + WRITE) + "\n")
    assert load_requests(path, MODBUS, port=None) == (READ, WRITE)
    line = get_codec("line")
    assert load_requests(write(tmp_path, "a\\r\\nb\\n\n", "l.txt"), line, port=None) == (
        b"a\r\n",
        b"b\n",
    )


def test_a_line_the_codec_cannot_frame_names_the_line_and_the_reason(tmp_path: Path) -> None:
    path = write(tmp_path, f"{format_escaped(READ)}\n#\n\\x00\\x01\\x00\\x00\\x00\\x06\\x01\n")
    with pytest.raises(UsageError, match=r"requests.txt line 3: it ends inside an unfinished "):
        load_requests(path, MODBUS, port=None)
    bad = write(tmp_path, "*1\r\n".replace("\r\n", "\\r\\n") + "!x\\r\\n\n", "r.txt")
    with pytest.raises(UsageError, match=r"r.txt line 1: the resp codec cannot frame it: resp: "):
        load_requests(bad, get_codec("resp"), port=None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no request in it"),
        ("# only a comment\n\n", "no request in it"),
        ("bad \\x4 escape\n", r"line 1: bad escape"),
    ],
)
def test_empty_or_malformed_files_are_usage_errors(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        load_requests(write(tmp_path, content), MODBUS, port=None)


def test_missing_unreadable_and_binary_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_requests(tmp_path / "nope.txt", MODBUS, port=None)
    with pytest.raises(UsageError, match="cannot read it"):
        load_requests(tmp_path, MODBUS, port=None)  # a directory
    binary = tmp_path / "blob"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match=r"not UTF-8 text \(nor a pcap/pcapng capture\)"):
        load_requests(binary, MODBUS, port=None)


def test_unframed_codecs_take_each_line_as_it_is(tmp_path: Path) -> None:
    path = write(tmp_path, "GET / HTTP/1.0\\r\\n\\r\\n\n\\x00\\x01\n")
    assert load_requests(path, get_codec("raw"), port=None) == (
        b"GET / HTTP/1.0\r\n\r\n",
        b"\x00\x01",
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=5))
def test_written_requests_read_back_as_the_same_bytes(frames: list[bytes]) -> None:
    text = format_requests(frames)
    assert len(text.splitlines()) == len(frames)
    for line, frame in zip(text.splitlines(), frames, strict=True):
        assert parse_escaped(line) == frame
        assert line.strip() == line and not line.startswith("#")


def test_read_request_lines_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "# c\na\n\nb\\n\n")
    assert read_request_lines(path) == [(2, b"a"), (4, b"b\n")]


# -- captures ------------------------------------------------------------------------------------

CLIENT, SERVER = "127.0.0.1", "127.0.0.2"


def _tcp(src: int, dst: int, seq: int, flags: int, data: bytes, sender: str) -> dpkt.ip.IP:
    tcp = dpkt.tcp.TCP(sport=src, dport=dst, seq=seq, flags=flags, data=data)
    ip = dpkt.ip.IP(
        src=socket.inet_aton(sender),
        dst=socket.inet_aton(SERVER if sender == CLIENT else CLIENT),
        p=dpkt.ip.IP_PROTO_TCP,
        data=tcp,
    )
    ip.len += len(tcp)
    return ip


def _ethernet(ip: dpkt.ip.IP) -> bytes:
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x00" * 6, data=ip))


def _session(port: int, client_port: int, isn: int, segments: list[tuple[int, bytes]]) -> list:
    """A SYN, then the client's segments (offsets relative to the ISN, in the order given)."""
    packets = [_tcp(client_port, port, isn, dpkt.tcp.TH_SYN, b"", CLIENT)]
    packets.append(_tcp(port, client_port, 9000, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, b"", SERVER))
    for offset, data in segments:
        packets.append(_tcp(client_port, port, isn + 1 + offset, dpkt.tcp.TH_ACK, data, CLIENT))
        packets.append(_tcp(port, client_port, 9001, dpkt.tcp.TH_ACK, b"reply", SERVER))
    return packets


def _write_pcap(path: Path, packets: list, *, linktype: int = 1, pcapng: bool = False) -> Path:
    with path.open("wb") as f:
        writer = (dpkt.pcapng.Writer if pcapng else dpkt.pcap.Writer)(
            f, snaplen=65535, linktype=linktype
        )
        for i, ip in enumerate(packets):
            frame = _ethernet(ip) if linktype == 1 else bytes(ip)
            writer.writepkt(frame, ts=1_700_000_000 + i / 1000)
    return path


@pytest.mark.parametrize("pcapng", [False, True])
def test_a_capture_gives_the_requests_each_client_sent_to_the_port(
    tmp_path: Path, pcapng: bool
) -> None:
    stream = READ + WRITE
    packets = [
        # Out of order, a retransmission overlapping both: sequence numbers put them right.
        *_session(502, 40001, 1000, [(6, stream[6:]), (0, stream[:6]), (4, stream[4:10])]),
        # A connection to another port is not the server's traffic.
        *_session(503, 40002, 5000, [(0, b"\x00\x09\x00\x00\x00\x02\x01\x01")]),
        # The ISN near 2**32: relative sequence numbers wrap.
        *_session(502, 40003, 2**32 - 3, [(0, WRITE)]),
    ]
    path = _write_pcap(tmp_path / ("s.pcapng" if pcapng else "s.pcap"), packets, pcapng=pcapng)
    assert load_requests(path, MODBUS, port=502) == (READ, WRITE, WRITE)


def test_a_captured_stream_cut_mid_request_keeps_its_whole_requests(tmp_path: Path) -> None:
    packets = _session(502, 40001, 7, [(0, READ + WRITE[:5])])
    path = _write_pcap(tmp_path / "cut.pcap", packets)
    assert load_requests(path, MODBUS, port=502) == (READ,)


def test_raw_ip_captures_are_read_too(tmp_path: Path) -> None:
    # LINKTYPE_RAW: what `wirefault show --pcap` writes.
    path = _write_pcap(tmp_path / "raw.pcap", _session(502, 40001, 7, [(0, READ)]), linktype=101)
    assert load_requests(path, MODBUS, port=502) == (READ,)


def test_udp_captures_give_each_datagram_to_the_port(tmp_path: Path) -> None:
    def datagram(dport: int, data: bytes) -> dpkt.ip.IP:
        udp = dpkt.udp.UDP(sport=5353, dport=dport, data=data)
        udp.ulen += len(data)
        ip = dpkt.ip.IP(src=socket.inet_aton(CLIENT), dst=socket.inet_aton(SERVER), p=17, data=udp)
        ip.len += len(udp)
        return ip

    packets = [datagram(53, b"q1"), datagram(54, b"other"), datagram(53, b"q2")]
    path = _write_pcap(tmp_path / "udp.pcap", packets)
    codec = get_codec("datagram")
    assert load_requests(path, codec, port=53, transport="udp") == (b"q1", b"q2")


def test_a_capture_without_the_servers_traffic_is_a_usage_error(tmp_path: Path) -> None:
    path = _write_pcap(tmp_path / "other.pcap", _session(503, 40001, 7, [(0, READ)]))
    with pytest.raises(UsageError, match=r"holds no TCP traffic from a client to TCP port 502"):
        load_requests(path, MODBUS, port=502)


def test_a_captured_stream_the_codec_cannot_frame_names_the_stream(tmp_path: Path) -> None:
    path = _write_pcap(tmp_path / "resp.pcap", _session(6379, 40001, 7, [(0, b"*1\r\n!x\r\n")]))
    with pytest.raises(
        UsageError, match=r"stream 1 \(127.0.0.1:40001 -> 127.0.0.2:6379\): the resp codec"
    ):
        load_requests(path, get_codec("resp"), port=6379)


def test_a_capture_cut_in_its_header_is_a_usage_error(tmp_path: Path) -> None:
    path = _write_pcap(tmp_path / "t.pcap", _session(502, 40001, 7, [(0, READ)]))
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(UsageError, match=r"cannot read the packet capture .* cut short"):
        load_requests(path, MODBUS, port=502)


def test_a_capture_cut_in_its_last_record_keeps_the_records_before(tmp_path: Path) -> None:
    packets = _session(502, 40001, 7, [(0, READ), (12, WRITE)])
    path = _write_pcap(tmp_path / "t.pcap", packets)
    path.write_bytes(path.read_bytes()[:-20])  # the server's last reply, cut
    assert load_requests(path, MODBUS, port=502) == (READ, WRITE)


# -- the preamble --------------------------------------------------------------------------------


def test_a_preamble_is_escaped_text_or_a_file_of_requests(tmp_path: Path) -> None:
    assert load_preamble("AUTH secret\\r\\n") == (b"AUTH secret\r\n",)
    path = write(tmp_path, "# handshake\nHELLO\\n\nAUTH x\\n\n", "hs.txt")
    assert load_preamble(f"@{path}") == (b"HELLO\n", b"AUTH x\n")


@pytest.mark.parametrize("text", ["", "@/no/such/file"])
def test_an_empty_or_missing_preamble_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--preamble"):
        load_preamble(text)


@pytest.mark.parametrize("text", ["a\\qb", "\\x4", "ends with \\"])
def test_an_escape_that_names_no_byte_is_a_usage_error(text: str) -> None:
    # `\q` is no escape: Python keeps it as it is, with only a warning. We refuse it.
    with pytest.raises(UsageError, match="bad escape"):
        parse_escaped(text)
