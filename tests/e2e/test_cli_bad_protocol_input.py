"""Bad codecs, request files and preambles: exit status 2 and one line saying which and why."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MODBUS = ["--codec", "lenfield", "--length-offset", "4", "--length-bytes", "2"]
READ = "\\x00\\x01\\x00\\x00\\x00\\x06\\x01\\x03\\x00\\x00\\x00\\x01"


def request_file(tmp: Path, text: str, name: str = "requests.txt") -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def not_a_codec(tmp: Path) -> list[str]:
    """``--codec`` naming a class in the working directory that is not a codec."""
    (tmp / "my_protocol.py").write_text("class Framing:\n    pass\n")
    return ["fuzz", "127.0.0.1:1", "--codec", "my_protocol:Framing"]


def pcap_without_the_port(tmp: Path) -> str:
    """A capture of one TCP session to port 503 (the target is port 1)."""
    import dpkt

    path = tmp / "other.pcap"
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=101)
        tcp = dpkt.tcp.TCP(sport=40000, dport=503, seq=1, flags=dpkt.tcp.TH_SYN)
        ip = dpkt.ip.IP(src=b"\x7f\x00\x00\x01", dst=b"\x7f\x00\x00\x01", p=6, data=tcp)
        ip.len += len(tcp)
        writer.writepkt(bytes(ip), ts=1.0)
    return str(path)


Argv = list[str] | Callable[[Path], list[str]]
CASES: list[tuple[str, Argv, str]] = [
    (
        "codec module that does not exist",
        ["fuzz", "127.0.0.1:1", "--codec", "no_such_pkg.codecs:Mine"],
        "cannot import no_such_pkg.codecs",
    ),
    (
        "codec class that is not a codec",
        not_a_codec,
        "not a subclass of wirefault.codecs.Codec",
    ),
    (
        "codec reference without a class",
        ["fuzz", "127.0.0.1:1", "--codec", "my_protocol:"],
        "package.module:ClassName",
    ),
    (
        "bad length width",
        ["fuzz", "127.0.0.1:1", "--codec", "lenfield", "--length-bytes", "5"],
        "1, 2, 3, 4, 8 or varint",
    ),
    (
        "bad length offset",
        ["fuzz", "127.0.0.1:1", "--codec", "lenfield", "--length-offset", "-1"],
        "length_offset must be >= 0",
    ),
    (
        "non-numeric adjust",
        ["fuzz", "127.0.0.1:1", "--codec", "lenfield", "--length-adjust", "x"],
        "whole number",
    ),
    (
        "adjust beyond max frame",
        [
            "fuzz",
            "127.0.0.1:1",
            "--codec",
            "lenfield",
            "--length-adjust",
            "99",
            "--max-frame",
            "10",
        ],
        "below length_adjust=99",
    ),
    (
        "lenfield option for another codec",
        ["fuzz", "127.0.0.1:1", "--codec", "line", "--length-offset", "4"],
        "does not apply to the line codec",
    ),
    (
        "missing request file",
        ["fuzz", "127.0.0.1:1", *MODBUS, "--requests", "nope.txt"],
        "no such file",
    ),
    (
        "unreadable request file",
        lambda tmp: ["fuzz", "127.0.0.1:1", *MODBUS, "--requests", str(tmp)],
        "cannot read it",
    ),
    (
        "empty request file",
        lambda tmp: ["fuzz", "127.0.0.1:1", *MODBUS, "--requests", request_file(tmp, "# none\n\n")],
        "no request in it",
    ),
    (
        "sample the codec cannot frame",
        lambda tmp: [
            "fuzz",
            "127.0.0.1:1",
            *MODBUS,
            "--requests",
            request_file(tmp, f"{READ}\n{READ[:-8]}\n"),
        ],
        "requests.txt line 2: it ends inside an unfinished lenfield request",
    ),
    (
        "sample a resp server could not parse",
        lambda tmp: [
            "fuzz",
            "127.0.0.1:1",
            "--codec",
            "resp",
            "--requests",
            request_file(tmp, "*1\\r\\n!x\\r\\n\n"),
        ],
        "line 1: the resp codec cannot frame it: resp: type byte",
    ),
    (
        "capture with no stream to the port",
        lambda tmp: ["fuzz", "127.0.0.1:1", *MODBUS, "--requests", pcap_without_the_port(tmp)],
        "holds no TCP traffic from a client to TCP port 1",
    ),
    ("empty preamble", ["fuzz", "127.0.0.1:1", "--preamble", ""], "--preamble is empty"),
    ("missing preamble file", ["fuzz", "127.0.0.1:1", "--preamble", "@nope.txt"], "no such file"),
    ("bad preamble escape", ["fuzz", "127.0.0.1:1", "--preamble", "\\x4"], "bad escape"),
    (
        "proxy recording UDP",
        ["proxy", "--udp", "--upstream", "127.0.0.1:1", "--record", "out.txt"],
        "records TCP clients only",
    ),
    (
        "proxy recording with an unknown codec",
        ["proxy", "--upstream", "127.0.0.1:1", "--record", "out.txt", "--codec", "morse"],
        "unknown codec 'morse'",
    ),
]


@pytest.mark.parametrize(("case", "argv", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_protocol_input_exits_2_with_one_clear_line(
    case: str, argv: Argv, says: str, tmp_path: Path
) -> None:
    args = argv(tmp_path) if callable(argv) else argv
    done = subprocess.run(
        [sys.executable, "-m", "wirefault", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, f"{case}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    assert says.lower() in done.stderr.lower(), f"{case}: {done.stderr!r}"
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, f"{case}: {done.stderr!r}"
