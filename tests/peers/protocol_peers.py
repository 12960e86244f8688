"""Real peers for the lenfield codec and user codecs: mosquitto, memcached, pymodbus's server.

Each starts on a free loopback port from a temporary directory, the way
:mod:`peers_support` starts redis-server and nginx, and has a ``*_pid`` function
giving :func:`peers_support.running` the process to watch. Also here: the wire
bytes of the requests the tests send (hand-written from each protocol's spec),
and :func:`request_file`, which writes samples in the ``--requests`` format.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import sys
import time
from pathlib import Path

from peers_support import WAIT

from wirefault.addresses import Address
from wirefault.codecs import LenFieldCodec
from wirefault.samples import format_requests
from wirefault.target import free_port

HERE = Path(__file__).resolve().parent

# -- codecs and requests -------------------------------------------------------------------------

#: MQTT: the remaining length is a varint after the first byte.
MQTT = LenFieldCodec(length_offset=1, length_bytes="varint")
#: MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, an empty client id (the broker
#: assigns one, so two connections never take each other's session over).
MQTT_CONNECT = bytes.fromhex("100c00044d5154540402003c0000")
MQTT_CONNACK = bytes.fromhex("20020000")
MQTT_PINGREQ = bytes.fromhex("c000")
#: PUBLISH at QoS 1 to "wf/t" (packet id 7): answered by a PUBACK. Nothing subscribes,
#: so no message ever comes back unasked.
MQTT_PUBLISH = b"\x32\x0b\x00\x04wf/t\x00\x07hi!"
#: UNSUBSCRIBE (packet id 9) from "wf/u": answered by an UNSUBACK.
MQTT_UNSUBSCRIBE = b"\xa2\x08\x00\x09\x00\x04wf/u"
MQTT_SAMPLES = (MQTT_PINGREQ, MQTT_PUBLISH, MQTT_UNSUBSCRIBE)

#: memcached's binary protocol: a 24-byte header, the body length at offset 8 counting
#: the bytes after the 12 that follow it.
MEMCACHED_BINARY = LenFieldCodec(length_offset=8, length_bytes=4, length_adjust=12)


def memcached_binary(opcode: int, key: bytes = b"", opaque: int = 0) -> bytes:
    """A binary-protocol request with no extras and no value."""
    header = bytes([0x80, opcode]) + len(key).to_bytes(2, "big") + bytes(4)
    return header + len(key).to_bytes(4, "big") + opaque.to_bytes(4, "big") + bytes(8) + key


#: GET of a key nothing sets, NOOP, VERSION: replies that no request can change (a SET's
#: reply carries a CAS value that grows with every play).
MEMCACHED_BINARY_SAMPLES = (
    memcached_binary(0x00, b"wirefault:none", opaque=1),
    memcached_binary(0x0A, opaque=2),
    memcached_binary(0x0B, opaque=3),
)

#: Modbus/TCP: MBAP header (transaction id, protocol id, length), the length at offset 4.
MODBUS = LenFieldCodec(length_offset=4, length_bytes=2)


def modbus(tid: int, function: int, address: int, count: int, unit: int = 1) -> bytes:
    """A Modbus/TCP read request (function 1-4)."""
    pdu = bytes([unit, function]) + address.to_bytes(2, "big") + count.to_bytes(2, "big")
    return tid.to_bytes(2, "big") + b"\x00\x00" + len(pdu).to_bytes(2, "big") + pdu


#: Reads of input registers and discrete inputs: read-only in Modbus, so no request
#: (a mutated one included) changes what they read.
MODBUS_SAMPLES = (modbus(1, 0x04, 0, 2), modbus(2, 0x02, 0, 8), modbus(3, 0x04, 10, 1))


def request_file(path: Path, samples: tuple[bytes, ...]) -> Path:
    """Write ``samples`` as a ``--requests`` text file."""
    path.write_text("# samples for wirefault fuzz --requests\n" + format_requests(samples))
    return path


# -- starting the peers --------------------------------------------------------------------------

MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
pid_file {tmp}/mosquitto.pid
log_dest file {tmp}/mosquitto.log
{user}
"""


def _as_root() -> bool:
    return os.geteuid() == 0


def mosquitto_command(binary: str, workdir: Path) -> tuple[str, Address]:
    """Write mosquitto.conf for a free port into ``workdir``; the command and the address.

    As root, mosquitto would switch to its own user and then fail to write its pid
    file in our directory: ``user root`` keeps it as it is.
    """
    port = free_port()
    user = f"user {getpass.getuser()}" if _as_root() else ""
    conf = workdir / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port, tmp=workdir, user=user), encoding="utf-8")
    command = f"exec {shlex.quote(binary)} -c {shlex.quote(str(conf))}"
    return command, Address("tcp", "127.0.0.1", port)


def pid_from_file(path: Path) -> int:
    """The pid a server wrote to ``path`` (waiting up to :data:`WAIT` seconds for it)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text().strip())
        time.sleep(0.02)
    raise AssertionError(f"no pid file {path} within {WAIT}s")


def memcached_command(binary: str, protocol: str) -> str:
    """memcached on 127.0.0.1:{port}, TCP only, one protocol (``binary`` or ``ascii``)."""
    user = " -u root" if _as_root() else ""  # memcached refuses root without it
    return (
        f"exec {shlex.quote(binary)} -l 127.0.0.1 -p {{port}} -U 0 -B {protocol} "
        f"-m 16 -t 2 -c 256{user}"
    )


def memcached_ascii_pid(address: Address) -> int:
    """The pid memcached reports in ``stats`` (text protocol)."""
    with exchange_text(address, b"stats\r\n", b"END\r\n") as reply:
        for line in reply.split(b"\r\n"):
            if line.startswith(b"STAT pid "):
                return int(line.split()[2])
    raise AssertionError("no pid in memcached's stats")


@contextlib.contextmanager
def exchange_text(address: Address, request: bytes, end: bytes):  # type: ignore[no-untyped-def]
    """Send a text request and yield the reply read up to ``end``."""
    import socket

    with socket.create_connection((address.host, address.port), timeout=WAIT) as sock:
        sock.sendall(request)
        reply = b""
        while not reply.endswith(end):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
        yield reply


def memcached_binary_pid(address: Address) -> int:
    """The pid memcached reports to a binary STAT request.

    STAT is answered by one reply per statistic, then an empty one (no key).
    """
    import socket

    decoder = MEMCACHED_BINARY.response_decoder()
    with socket.create_connection((address.host, address.port), timeout=WAIT) as sock:
        sock.sendall(memcached_binary(0x10))
        while data := sock.recv(65536):
            for frame in decoder.feed(data):
                key_length = int.from_bytes(frame[2:4], "big")
                if frame[24 : 24 + key_length] == b"pid":
                    return int(frame[24 + key_length :])
                if not key_length:
                    break
    raise AssertionError("no pid in memcached's binary STAT replies")


def modbus_command(workdir: Path) -> str:
    """pymodbus's server (tests/peers/modbus_server.py) on {port}, its pid in ``workdir``."""
    script = shlex.quote(str(HERE / "modbus_server.py"))
    pidfile = shlex.quote(str(workdir / "modbus.pid"))
    return f"exec {shlex.quote(sys.executable)} {script} {{port}} {pidfile}"
