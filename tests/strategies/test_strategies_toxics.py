"""Toxic schedules: right toxics for the backend, data-preserving unless asked, shrink to ()."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies_support import FAST, drawn, minimal, simplest

from wirefault.errors import UsageError
from wirefault.faults.toxics import Bandwidth, Latency, Toxic, toxic_from_json
from wirefault.strategies import datagram_toxic_schedules, toxic_schedules

PRESERVING_TCP = {"latency", "slicer", "split", "bandwidth", "slow_close"}
DESTRUCTIVE_TCP = {"reset_peer", "limit_data", "timeout", "corrupt"}
TOXIPROXY_OWN = {
    "latency",
    "slicer",
    "bandwidth",
    "slow_close",
    "reset_peer",
    "limit_data",
    "timeout",
}


def _types(toxics: tuple[Toxic, ...]) -> set[str]:
    return {t.type for t in toxics}


@FAST
@given(toxic_schedules(max_toxics=3))
def test_default_schedules_preserve_data_and_are_seeded(toxics: tuple[Toxic, ...]) -> None:
    assert len(toxics) <= 3
    assert _types(toxics) <= PRESERVING_TCP
    assert all(t.seed is not None and t.connection is None for t in toxics)


@FAST
@given(toxic_schedules(max_toxics=3))
def test_toxic_names_are_unique(toxics: tuple[Toxic, ...]) -> None:
    assert len({t.key for t in toxics}) == len(toxics)


@FAST
@given(toxic_schedules(backend="toxiproxy", destructive=True, max_toxics=3))
def test_toxiproxy_gets_only_its_own_toxics_without_seed(toxics: tuple[Toxic, ...]) -> None:
    assert _types(toxics) <= TOXIPROXY_OWN
    assert all(t.seed is None and t.connection is None for t in toxics)


@FAST
@given(toxic_schedules())
def test_preserving_toxics_stay_small(toxics: tuple[Toxic, ...]) -> None:
    for toxic in toxics:
        if isinstance(toxic, Latency):
            assert toxic.latency <= 20
            assert toxic.jitter <= min(5, toxic.latency)
        if isinstance(toxic, Bandwidth):
            assert toxic.rate >= 200


@FAST
@given(toxic_schedules(max_toxics=2))
def test_schedules_round_trip_through_json(toxics: tuple[Toxic, ...]) -> None:
    assert tuple(toxic_from_json(t.to_json()) for t in toxics) == toxics


def test_schedules_shrink_to_no_toxic() -> None:
    assert minimal(toxic_schedules()) == ()


def test_every_kind_of_schedule_starts_from_no_toxic() -> None:
    assert simplest(toxic_schedules(backend="toxiproxy", destructive=True)) == ()
    assert simplest(toxic_schedules(transport="udp")) == ()
    assert simplest(datagram_toxic_schedules(destructive=True)) == ()


def test_a_single_toxic_shrinks_to_the_mildest_latency() -> None:
    found = minimal(toxic_schedules(), lambda ts: len(ts) == 1)
    assert [t.to_json() for t in found] == [
        {
            "type": "latency",
            "name": "latency_downstream",
            "stream": "downstream",
            "toxicity": 1.0,
            "seed": 0,
            "attributes": {"latency": 0, "jitter": 0},
        }
    ]


@pytest.mark.parametrize("kind", sorted(DESTRUCTIVE_TCP))
def test_every_destructive_toxic_is_drawn_when_asked(kind: str) -> None:
    found = drawn(toxic_schedules(destructive=True), lambda ts: kind in _types(ts))
    assert kind in _types(found)


@FAST
@given(toxic_schedules(transport="udp", max_toxics=3))
def test_udp_schedules_are_datagram_toxics(toxics: tuple[Toxic, ...]) -> None:
    assert all("udp" in t.transports for t in toxics)
    assert _types(toxics) <= {"duplicate", "reorder", "delay"}


@FAST
@given(datagram_toxic_schedules(destructive=True, max_toxics=3, max_index=4))
def test_datagram_toxics_pick_datagrams_below_max_index(toxics: tuple[Toxic, ...]) -> None:
    for toxic in toxics:
        indices = getattr(toxic, "indices", None)
        assert indices is None or (indices and max(indices) < 4)
        assert toxic.seed is not None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "docker"}, "backend must be 'embedded' or 'toxiproxy', got 'docker'"),
        ({"transport": "sctp"}, "transport must be 'tcp' or 'udp', got 'sctp'"),
        ({"transport": "udp", "backend": "toxiproxy"}, "Toxiproxy is TCP only"),
        ({"max_toxics": -1}, "max_toxics must be a whole number >= 0, got -1"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        toxic_schedules(**kwargs)  # type: ignore[arg-type]
