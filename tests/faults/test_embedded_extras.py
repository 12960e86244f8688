"""The embedded proxy's exact, seedable extras: split, corrupt, per-connection and seeded toxics."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator

import pytest
from _embedded_servers import TcpRecorder, connect, eventually, recv_exactly

from wirefault.faults.base import FaultProxy
from wirefault.faults.embedded import EmbeddedFaultLayer
from wirefault.faults.embedded.toxics import DATAGRAM_TOXICS, STREAM_TOXICS
from wirefault.faults.embedded.toxics.slicer import slice_bounds
from wirefault.faults.toxics import TOXICS, Corrupt, Latency, LimitData, Slicer, Split, Toxic


@pytest.fixture
def recorder() -> Iterator[TcpRecorder]:
    server = TcpRecorder()
    yield server
    server.close()


@pytest.fixture
def proxy(recorder: TcpRecorder) -> Iterator[FaultProxy]:
    with EmbeddedFaultLayer() as layer:
        yield layer.open_proxy(recorder.address)


def send_and_echo(proxy: FaultProxy, data: bytes) -> bytes:
    """One connection: send ``data``, read as many bytes back, close."""
    with connect(proxy.listen) as sock:
        sock.sendall(data)
        return recv_exactly(sock, len(data))


def upstream_sizes(proxy: FaultProxy, recorder: TcpRecorder, data: bytes, conn: int) -> list[int]:
    """The server's recv() sizes for one connection that sends ``data`` through the proxy."""
    send_and_echo(proxy, data)
    log = recorder.conn(conn)
    assert eventually(lambda: len(log.data) == len(data))
    return log.sizes


# -- split -------------------------------------------------------------------------------------


def test_split_cuts_the_stream_at_exact_offsets(proxy: FaultProxy, recorder: TcpRecorder) -> None:
    proxy.add_toxic(Split(offsets=(1, 5, 12), delay=20_000, stream="upstream"))
    assert upstream_sizes(proxy, recorder, bytes(20), 0) == [1, 4, 7, 8]


def test_split_without_delay_waits_for_the_server_to_read_each_piece(
    proxy: FaultProxy, recorder: TcpRecorder
) -> None:
    # No delay at all: only waiting for the server's reads keeps the pieces apart.
    proxy.add_toxic(Split(offsets=(1, 5, 12), delay=0, stream="upstream"))
    for conn in range(5):
        assert upstream_sizes(proxy, recorder, bytes(20), conn) == [1, 4, 7, 8]


def test_slicer_without_delay_gives_the_server_one_read_per_slice(
    proxy: FaultProxy, recorder: TcpRecorder
) -> None:
    toxic = Slicer(average_size=4, size_variation=0, delay=0, stream="upstream", seed=3)
    proxy.add_toxic(toxic)
    sizes = upstream_sizes(proxy, recorder, bytes(32), 0)
    assert sizes == [4] * 8


def test_split_offsets_count_from_the_stream_start(
    proxy: FaultProxy, recorder: TcpRecorder
) -> None:
    proxy.add_toxic(Split(offsets=(3, 8), delay=20_000, stream="upstream"))
    with connect(proxy.listen) as sock:
        for part in (b"ab", b"cdef", b"ghij"):  # offsets 0-2, 2-6, 6-10
            sock.sendall(part)
            recv_exactly(sock, len(part))
    assert recorder.conn(0).recvs == [b"ab", b"c", b"def", b"gh", b"ij"]


def test_split_applies_downstream(proxy: FaultProxy) -> None:
    proxy.add_toxic(Split(offsets=(2,), delay=20_000))
    with connect(proxy.listen) as sock:
        sock.sendall(b"abcd")
        assert sock.recv(100) == b"ab"
        assert recv_exactly(sock, 2) == b"cd"


# -- corrupt -----------------------------------------------------------------------------------


def test_corrupt_flips_exactly_the_chosen_bytes(proxy: FaultProxy, recorder: TcpRecorder) -> None:
    proxy.add_toxic(Corrupt(offsets=(0, 3, 99), mask=0x0F, stream="upstream"))
    echoed = send_and_echo(proxy, b"\x00\x00\x00\x00\x00")
    assert echoed == b"\x0f\x00\x00\x0f\x00"
    assert recorder.conn(0).data == echoed


def test_corrupt_offsets_span_chunks(proxy: FaultProxy) -> None:
    proxy.add_toxic(Corrupt(offsets=(4,), mask=0xFF))
    with connect(proxy.listen) as sock:
        sock.sendall(b"abc")
        assert recv_exactly(sock, 3) == b"abc"
        sock.sendall(b"def")
        assert recv_exactly(sock, 3) == bytes([ord("d"), ord("e") ^ 0xFF, ord("f")])


# -- per connection, seeded --------------------------------------------------------------------


def test_connection_n_affects_only_the_nth_connection_since_added(
    proxy: FaultProxy, recorder: TcpRecorder
) -> None:
    with connect(proxy.listen) as early:  # live before the toxic: never counted
        early.sendall(b"!")
        assert recv_exactly(early, 1) == b"!"  # the proxy has surely accepted it
        proxy.add_toxic(LimitData(bytes=2, connection=1))
        assert send_and_echo(proxy, b"first") == b"first"
        with connect(proxy.listen) as second:
            second.sendall(b"second")
            assert recv_exactly(second, 2) == b"se"
            assert second.recv(10) == b""
        assert send_and_echo(proxy, b"third") == b"third"
        early.sendall(b"early")
        assert recv_exactly(early, 5) == b"early"


def test_same_seed_gives_the_same_slices(proxy: FaultProxy, recorder: TcpRecorder) -> None:
    runs = []
    for conn, seed in enumerate((7, 7, 8)):
        # 20 ms between pieces: the server sees each piece in its own recv().
        slicer = Slicer(
            average_size=10, size_variation=6, delay=20_000, stream="upstream", seed=seed
        )
        proxy.add_toxic(slicer)
        runs.append(upstream_sizes(proxy, recorder, bytes(100), conn))
        proxy.remove_toxic(slicer.key)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert all(sum(sizes) == 100 and len(sizes) > 4 for sizes in runs)


def test_toxicity_draw_is_seeded_per_connection(proxy: FaultProxy) -> None:
    def affected(seed: int) -> list[bool]:
        toxic = LimitData(bytes=0, toxicity=0.5, seed=seed, stream="upstream")
        proxy.add_toxic(toxic)
        hits = []
        for _ in range(8):
            with connect(proxy.listen) as sock:
                sock.sendall(b"?")
                hits.append(sock.recv(1) == b"")
        proxy.remove_toxic(toxic.key)
        return hits

    first = affected(3)
    assert first == affected(3)
    assert any(first)
    assert not all(first)


# -- pure parts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("average", "variation"), [(0, 0), (0, 5), (1, 0), (2, 1), (5, 10), (10, 10), (64, 8)]
)
@pytest.mark.parametrize("size", [1, 2, 21, 64, 1000])
def test_slice_bounds_cover_the_chunk_with_nonempty_pieces(
    size: int, average: int, variation: int
) -> None:
    cuts = slice_bounds(size, average, variation, random.Random(1))
    assert cuts[0] == 0
    assert cuts[-1] == size
    assert all(b > a for a, b in itertools.pairwise(cuts))


def test_every_embedded_toxic_has_an_implementation() -> None:
    for name, cls in TOXICS.items():
        toxic: Toxic = cls()
        if "embedded" not in toxic.backends or toxic.proxy_level:
            continue  # down is a state of the proxy, not a toxic on its links
        if "tcp" in toxic.transports:
            assert name in STREAM_TOXICS, name
        if "udp" in toxic.transports:
            assert name in DATAGRAM_TOXICS, name
    assert set(STREAM_TOXICS) | set(DATAGRAM_TOXICS) <= set(TOXICS)


def test_latency_jitter_stays_in_bounds(proxy: FaultProxy) -> None:
    proxy.add_toxic(Latency(latency=100, jitter=50, seed=1))
    with connect(proxy.listen) as sock:
        for _ in range(3):
            start = time.monotonic()
            sock.sendall(b"j")
            assert recv_exactly(sock, 1) == b"j"
            assert 0.045 <= time.monotonic() - start < 1.0
