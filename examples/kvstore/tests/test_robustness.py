"""kvstore's robustness suite: every wirefault property that applies to a line protocol."""

import sys
from pathlib import Path

import pytest

SERVER = f"{sys.executable} {Path(__file__).parent.parent / 'kvstore.py'} --port {{port}}"


@pytest.mark.wirefault(codec="line", max_line=4096, max_examples=10)
def test_kvstore_survives_the_network(wirefault_server, wirefault_check, wirefault_property):
    wirefault_check(wirefault_server(SERVER), wirefault_property)
