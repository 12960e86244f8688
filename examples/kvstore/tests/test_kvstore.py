"""kvstore's ordinary unit tests, next to the robustness suite (no wirefault involved)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from kvstore import Store


def test_set_then_get_returns_the_value():
    store = Store()
    assert store.answer(b"SET colour blue") == b"OK\n"
    assert store.answer(b"GET colour") == b"VALUE blue\n"


def test_unknown_commands_are_errors():
    assert Store().answer(b"FLY away") == b"ERR unknown command\n"
