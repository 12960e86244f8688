"""The ``wirefault`` command line.

Each subcommand is one module of this package exposing ``add_parser(subparsers)``
and ``run(args) -> int``. Exit statuses, the same for every subcommand:

* 0 — success (for ``fuzz``: no failure found; for ``replay``: did not reproduce);
* 1 — failures found (``fuzz``) or reproduced (``replay``);
* 2 — usage or setup error: bad arguments, unreachable target, a server command
  that will not start, a bad replay file; one line on stderr, no traceback;
* 3 — internal error (a bug in wirefault: please report it with ``WIREFAULT_DEBUG=1`` output);
* 130 — interrupted by Ctrl-C or SIGTERM (what the command started is stopped first).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Protocol, cast

from wirefault.errors import WirefaultError

__all__ = ["EXIT_FAILURES", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

# Subcommand modules, in the order `wirefault --help` lists them.
_COMMANDS = ("fuzz", "replay", "show", "proxy", "proxy_server", "serve", "targets")


class _Command(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Register the subcommand's parser; it must set ``func=run``."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the subcommand and return its exit status."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``wirefault`` parser with every subcommand."""
    parser = _Parser(
        prog="wirefault",
        description="Property-based fuzzing and fault injection for TCP and UDP servers.",
    )
    from wirefault import __version__

    parser.add_argument("--version", action="version", version=f"wirefault {__version__}")
    subparsers = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser),
    )
    subparsers.required = True
    for name in _COMMANDS:
        module = cast(_Command, importlib.import_module(f"wirefault.cli.{name}"))
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wirefault`` console script and ``python -m wirefault``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every server, proxy and toxiproxy-server a
    # command started is stopped on the way out (serve and proxy set their own).
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.func(args))
    except WirefaultError as exc:
        print(f"wirefault: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("wirefault: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed under us (`wirefault ... | head`): nothing left to tell.
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("WIREFAULT_DEBUG"):
            traceback.print_exc()
        print(
            f"wirefault: internal error: {type(exc).__name__}: {exc} "
            "(a bug in wirefault; rerun with WIREFAULT_DEBUG=1 and report the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def entry() -> None:
    """Console-script wrapper that exits with :func:`main`'s status."""
    sys.exit(main())
