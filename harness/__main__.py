"""``python -m harness``: the same as the ``wirefault`` command."""

from harness.cli import entry

entry()
