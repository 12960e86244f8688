"""wirefault against Debian's mosquitto (MQTT 3.1.1), with lenfield and a CONNECT preamble.

The lenfield codec (a varint length after the first byte) reads mosquitto's real
traffic one byte at a time; the preamble is what lets any other packet through
(mosquitto closes a connection whose first packet is not CONNECT); and a default
campaign with sample requests reports no failure: the replies mosquitto's resets
take with them (docs/REAL_SERVERS.md) are a note, not a failure.
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
    need_binary,
    read_frames,
    running,
)
from protocol_peers import (
    MQTT,
    MQTT_CONNACK,
    MQTT_CONNECT,
    MQTT_PINGREQ,
    MQTT_PUBLISH,
    MQTT_SAMPLES,
    MQTT_UNSUBSCRIBE,
    mosquitto_command,
    pid_from_file,
    request_file,
)

from wirefault.addresses import Address
from wirefault.errors import FrameError
from wirefault.escapes import format_escaped
from wirefault.properties import get_property
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Close, Expect, ExpectClose, HalfClose, Scenario, Send, Step

LENFIELD = ["--length-offset", "1", "--length-bytes", "varint"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Address]:
    """mosquitto on a free loopback port, anonymous, no persistence; stopped afterwards."""
    binary = need_binary("mosquitto", "mosquitto")
    workdir = tmp_path_factory.mktemp("mosquitto")
    command, address = mosquitto_command(binary, workdir)
    with running(command, address, lambda _: pid_from_file(workdir / "mosquitto.pid")) as found:
        yield found


def test_real_traffic_decodes_one_byte_at_a_time(broker: Address) -> None:
    subscribe = b"\x82\x09\x00\x01\x00\x04wf/s\x00"  # QoS 0 subscription to wf/s
    big = b"\x30" + bytes([0x86, 0x01]) + b"\x00\x04wf/s" + b"m" * 128  # 2-byte varint
    with connect(broker) as sock:
        sock.sendall(MQTT_CONNECT)
        raw = read_frames(sock, 1, MQTT)
        sock.sendall(subscribe)
        raw += read_frames(sock, 1, MQTT)
        # A pipelined burst: our message comes back to us, then PUBACK, UNSUBACK, PINGRESP.
        sock.sendall(big + MQTT_PUBLISH + MQTT_UNSUBSCRIBE + MQTT_PINGREQ)
        raw += read_frames(sock, 4, MQTT)
    frames, pending = feed_bytewise(MQTT, raw, eof=True)
    assert pending == 0
    assert frames == MQTT.response_decoder().feed(raw)
    assert frames[0] == MQTT_CONNACK
    assert frames[1] == b"\x90\x03\x00\x01\x00"  # SUBACK, QoS 0 granted
    assert frames[2] == big
    assert frames[3:] == [b"\x40\x02\x00\x07", b"\xb0\x02\x00\x09", b"\xd0\x00"]


def test_the_connect_preamble_lets_the_samples_through(broker: Address) -> None:
    scenario = Scenario(
        steps=(
            Send(conn=0, chunks=(b"".join(MQTT_SAMPLES),)),
            Expect(conn=0, count=3),
            Close(conn=0),
        )
    )
    with_preamble = Runner(
        broker, MQTT, options=RunnerOptions(deadline=1.0, preamble=(MQTT_CONNECT,))
    ).play(scenario)
    assert with_preamble.expects[0].frames == (
        b"\xd0\x00",
        b"\x40\x02\x00\x07",
        b"\xb0\x02\x00\x09",
    )
    # The CONNACK was read and not counted; without the preamble mosquitto hangs up.
    without = Runner(broker, MQTT, options=RunnerOptions(deadline=1.0)).play(scenario)
    assert without.expects[0].frames == ()
    assert without.expects[0].outcome in ("eof", "rst")


def _utf8_strings(body: bytes) -> list[bytes] | None:
    """The 2-byte-length-prefixed strings ``body`` is made of, or None if it is not."""
    out = []
    while body:
        size = int.from_bytes(body[:2], "big")
        if len(body) < 2 + size:
            return None
        out.append(body[2 : 2 + size])
        body = body[2 + size :]
    return out


def mosquitto_refuses(packet: bytes) -> bool:
    """Whether mosquitto closes the connection on ``packet`` (PINGREQ, PUBLISH, UNSUBSCRIBE).

    The MQTT 3.1.1 rules for the packets of the samples: reserved flags, a QoS of 3,
    a topic that is empty, not UTF-8, holds a wildcard or overruns the packet, a
    packet identifier of 0, an UNSUBSCRIBE without a topic filter.
    """
    kind, flags = packet[0] >> 4, packet[0] & 0x0F
    body = MQTT.payload_of(packet) or b""
    if kind == 12:
        return flags != 0 or bool(body)
    if kind == 3:
        qos = (flags >> 1) & 3
        size = int.from_bytes(body[:2], "big")
        topic, rest = body[2 : 2 + size], body[2 + size :]
        bad_topic = len(body) < 2 + size or not topic or b"+" in topic or b"#" in topic
        bad_id = qos > 0 and (len(rest) < 2 or rest[:2] == b"\x00\x00")
        return qos == 3 or bad_topic or bad_id or not _is_utf8(topic)
    if kind == 10:
        filters = _utf8_strings(body[2:])
        bad = not filters or any(not f or not _is_utf8(f) for f in filters)
        return flags != 2 or len(body) < 2 or body[:2] == b"\x00\x00" or bad
    return True


def _is_utf8(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def _refused_then_more(scenario: Scenario) -> bool:
    """A write holds a packet mosquitto refuses, and more bytes follow it in that write.

    mosquitto closes at once on the refused packet with those bytes unread, so Linux
    resets the connection, and replies to the packets before it that are still in
    flight are lost.
    """
    for step in scenario.steps:
        if not isinstance(step, Send):
            continue
        for chunk in step.chunks:
            decoder = MQTT.request_decoder()
            try:
                packets = decoder.feed(chunk)
            except FrameError:
                continue
            consumed = 0
            for packet in packets:
                consumed += len(packet)
                if mosquitto_refuses(packet) and consumed < len(chunk):
                    return True
    return False


@pytest.mark.slow
def test_fuzz_with_a_preamble_and_samples_raises_no_false_alarm(
    broker: Address, tmp_path: Path
) -> None:
    samples = request_file(tmp_path / "mqtt.txt", MQTT_SAMPLES)
    run = fuzz(
        broker,
        "lenfield",
        tmp_path,
        *LENFIELD,
        *("--preamble", format_escaped(MQTT_CONNECT), "--requests", str(samples)),
        *("--backend", "embedded", "--max-examples", "10", "--seed", "1"),
        *("--shrink-budget", "3"),
    )
    assert run.summary["examples"] >= 7 * 10, describe(run)
    assert not run.failures, describe(run)


def test_replies_before_a_refused_packet_are_lost_only_with_bytes_unread(
    broker: Address,
) -> None:
    bad_publish = b"\x32\x00"  # QoS 1 with no topic: refused
    assert mosquitto_refuses(bad_publish) and not any(map(mosquitto_refuses, MQTT_SAMPLES))
    options = RunnerOptions(deadline=1.0, preamble=(MQTT_CONNECT,))
    replies = []
    for tail in (b"", MQTT_PINGREQ):
        data = MQTT_PINGREQ * 2 + bad_publish + tail
        scenario = Scenario(steps=(Send(conn=0, chunks=(data,)), Expect(conn=0, count=3)))
        assert _refused_then_more(scenario) == bool(tail)
        replies.append(Runner(broker, MQTT, options=options).play(scenario).expects[0])
    # Nothing unread: both PINGRESPs, then the close. Bytes unread: a reset, which may
    # take replies still in flight with it.
    assert (replies[0].frames, replies[0].outcome) == ((b"\xd0\x00", b"\xd0\x00"), "eof")
    assert replies[1].outcome == "rst"


@pytest.mark.parametrize("name", ["pipelining", "half-close"])
def test_replies_a_reset_took_are_a_note_not_a_failure(broker: Address, name: str) -> None:
    """Pipelined or half-closed, a refused packet with more behind it: losses are a note."""
    bad_publish = b"\x32\x00"
    frames = (MQTT_PINGREQ, MQTT_PINGREQ, bad_publish, MQTT_PINGREQ)
    data = b"".join(frames)
    if name == "pipelining":
        steps: list[Step] = []
        for frame in frames:
            steps += [Send(conn=0, chunks=(frame,)), Expect(conn=0, count=1)]
        steps += [Close(conn=0), Send(conn=1, chunks=(data,)), Expect(conn=1, count=3)]
    else:
        steps = [Send(conn=0, chunks=(data,)), Expect(conn=0, count=3), Close(conn=0)]
        steps += [Send(conn=1, chunks=(data,)), HalfClose(conn=1), ExpectClose(conn=1)]
    scenario = Scenario(steps=(*steps, Close(conn=1)))
    runner = Runner(broker, MQTT, options=RunnerOptions(deadline=1.0, preamble=(MQTT_CONNECT,)))
    for _ in range(3):
        transcript = runner.play(scenario)
        verdict = get_property(name).judge(scenario, transcript, MQTT)
        assert verdict.ok, verdict.message
        replies = [len(transcript.conn(conn).frames) for conn in (0, 1)]
        if replies[1] < replies[0]:  # the close took some: said in a note
            assert verdict.note is not None and verdict.note.topic.startswith("replies ")
