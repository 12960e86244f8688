"""``python -m wirefault``: the same as the ``wirefault`` command."""

from wirefault.cli import entry

entry()
