"""Toxics as typed values: parsing, validation, JSON."""

from __future__ import annotations

import pytest

from wirefault.errors import UsageError
from wirefault.faults.toxics import (
    TOXICS,
    Latency,
    Split,
    Toxic,
    parse_toxic,
    toxic_from_json,
)


def test_parses_the_command_line_form() -> None:
    toxic = parse_toxic("latency:latency=200,jitter=20,stream=upstream")
    assert toxic == Latency(latency=200, jitter=20, stream="upstream")
    assert toxic.key == "latency_upstream"


def test_tuple_attributes_take_slash_separated_values() -> None:
    assert parse_toxic("split:offsets=1/5,delay=100") == Split(offsets=(1, 5), delay=100)


@pytest.mark.parametrize("name", sorted(TOXICS))
def test_every_toxic_round_trips_through_json(name: str) -> None:
    toxic = TOXICS[name](stream="upstream", toxicity=0.5, seed=7, name=f"my-{name}")
    assert toxic_from_json(toxic.to_json()) == toxic


def test_defaults_are_toxiproxys() -> None:
    toxic: Toxic = parse_toxic("latency")
    assert toxic.stream == "downstream"
    assert toxic.toxicity == 1.0
    assert toxic.attributes() == {"latency": 0, "jitter": 0}


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("nope", "valid toxics: bandwidth"),
        ("latency:lat=1", "valid: connection"),
        ("latency:latency=abc", "takes int"),
        ("latency:latency=-5", ">= 0"),
        ("latency:toxicity=2", r"\[0, 1\]"),
        ("latency:stream=sideways", "upstream"),
        ("latency:latency", "attr=value"),
        ("drop:probability=1.5", r"\[0, 1\]"),
    ],
)
def test_bad_toxics_name_the_valid_choices(text: str, hint: str) -> None:
    with pytest.raises(UsageError, match=hint):
        parse_toxic(text)


def test_json_without_type_is_rejected() -> None:
    with pytest.raises(UsageError, match="type"):
        toxic_from_json({"attributes": {}})
