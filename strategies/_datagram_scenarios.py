"""Scenario builders for UDP properties (re-exported by :mod:`wirefault.strategies.scenarios`).

Each client is one UDP socket; each chunk of a Send is one datagram.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.codecs.base import Codec
from wirefault.faults.toxics import Toxic
from wirefault.scenario import Close, Pause, Scenario, Send, Step
from wirefault.strategies._common import (
    check_backend,
    check_seconds,
    check_size,
    check_transport,
    probe_request,
)
from wirefault.strategies.connections import exchange, probe_steps
from wirefault.strategies.datagrams import datagram_sequences, datagram_toxic_schedules, datagrams
from wirefault.strategies.samples import sample_frames

__all__ = ["datagram_fault_scenarios", "datagram_reply_scenarios", "datagram_size_scenarios"]

#: Time given to a UDP server to handle what was sent before the probe (s).
SETTLE = 0.05


def _sequences(
    codec: Codec, max_datagrams: int, samples: Sequence[bytes]
) -> SearchStrategy[tuple[bytes, ...]]:
    """The wire bytes of datagrams to send: generated, or with ``samples`` made from them."""
    payloads = datagram_sequences(max_size=max_datagrams, max_datagram=min(64, codec.max_frame))
    generated = payloads.map(lambda seq: tuple(codec.encode(d) for d in seq))
    if not samples:
        return generated
    drawn = st.lists(sample_frames(codec, samples), min_size=1, max_size=max_datagrams)
    sampled = drawn.map(lambda fs: tuple(w for _, w in fs))
    if any(codec.payload_of(s) is not None for s in samples):
        return sampled  # generated payloads ride in the samples' frames
    return st.one_of(sampled, generated)


def _datagram(where: str, codec: Codec, backend: str | None, deadline: float) -> None:
    check_transport(where, codec, "datagram", "a stream builder such as reassembly_scenarios")
    check_backend(where, backend)
    check_seconds(where, "deadline", deadline, positive=True)


@st.composite
def _datagram_reply(
    draw: st.DrawFn, codec: Codec, sequences: SearchStrategy[tuple[bytes, ...]]
) -> Scenario:
    sequence = draw(sequences)
    clients = draw(st.lists(st.integers(0, 1), min_size=len(sequence), max_size=len(sequence)))
    steps: list[Step] = []
    for datagram, conn in zip(sequence, clients, strict=True):
        steps.extend(exchange(conn, (datagram,), count=1))
    used = dict.fromkeys(clients)
    steps.extend(Close(conn=conn) for conn in used)
    return Scenario(steps=tuple(steps))


def datagram_reply_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    max_datagrams: int = 6,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """Each datagram sent by a drawn client (c0 or c1), which expects its reply.

    Shrinks toward one empty datagram from c0.

    Example::

        @given(datagram_reply_scenarios(get_codec("datagram")))
        def test_shape(scenario: Scenario) -> None:
            assert set(scenario.connections()) <= {0, 1}
    """
    _datagram("datagram_reply_scenarios", codec, backend, deadline)
    check_size("datagram_reply_scenarios", "max_datagrams", max_datagrams, minimum=1)
    return _datagram_reply(codec, _sequences(codec, max_datagrams, samples))


def _sent_then_probe(datagrams_sent: tuple[bytes, ...], probe: bytes) -> tuple[Step, ...]:
    sends = tuple(Send(conn=0, chunks=(d,)) for d in datagrams_sent)
    return (*sends, Pause(seconds=SETTLE), Close(conn=0), *probe_steps(1, probe))


def datagram_size_scenarios(
    codec: Codec, *, backend: str | None = None, deadline: float = 1.0, probe: bytes | None = None
) -> SearchStrategy[Scenario]:
    """c0 sends 1-3 edge-size datagrams (empty, 1 byte, ``codec.max_frame``, random); c1 probes.

    Example::

        @given(datagram_size_scenarios(get_codec("datagram")))
        def test_shape(scenario: Scenario) -> None:
            assert scenario.connections() == [0, 1]
    """
    _datagram("datagram_size_scenarios", codec, backend, deadline)
    request = probe_request(codec, probe)
    edges = st.lists(datagrams(max_size=codec.max_frame), min_size=1, max_size=3)
    return edges.map(lambda sent: Scenario(steps=_sent_then_probe(tuple(sent), request)))


@st.composite
def _datagram_fault(
    draw: st.DrawFn,
    codec: Codec,
    schedules: SearchStrategy[tuple[Toxic, ...]] | None,
    sequences: SearchStrategy[tuple[bytes, ...]],
    probe: bytes,
) -> Scenario:
    toxics = draw(schedules) if schedules is not None else ()
    sequence = draw(sequences)
    return Scenario(steps=_sent_then_probe(sequence, probe), toxics=toxics)


def datagram_fault_scenarios(
    codec: Codec,
    *,
    backend: str | None = None,
    deadline: float = 1.0,
    probe: bytes | None = None,
    max_datagrams: int = 6,
    samples: Sequence[bytes] = (),
) -> SearchStrategy[Scenario]:
    """Duplicated, reordered and delayed datagrams from c0 (or ``samples``); then c1 probes.

    Toxics (data-preserving only: never drop) are drawn when ``backend`` is
    ``embedded`` — the only backend with UDP — and are ``()`` otherwise.

    Example::

        @given(datagram_fault_scenarios(get_codec("datagram"), backend="embedded"))
        def test_shape(scenario: Scenario) -> None:
            assert all(t.type != "drop" for t in scenario.toxics)
    """
    _datagram("datagram_fault_scenarios", codec, backend, deadline)
    check_size("datagram_fault_scenarios", "max_datagrams", max_datagrams, minimum=1)
    schedules = datagram_toxic_schedules() if backend == "embedded" else None
    sequences = _sequences(codec, max_datagrams, samples)
    return _datagram_fault(codec, schedules, sequences, probe_request(codec, probe))
