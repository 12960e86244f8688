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
import difflib
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Protocol, cast

from wirefault.errors import WirefaultError

__all__ = [
    "EXIT_FAILURES",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

# Subcommand names and their modules, in the order `wirefault --help` lists them.
_COMMANDS = {
    "fuzz": "fuzz",
    "replay": "replay",
    "show": "show",
    "proxy": "proxy",
    "proxy-server": "proxy_server",
    "serve": "serve",
    "targets": "targets",
}


class _Command(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Register the subcommand's parser; it must set ``func=run``."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the subcommand and return its exit status."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors, exit status 2, and "did you mean" for a typo.

    (Python 3.14's ``suggest_on_error`` does the same for choices; this works on 3.10+.)
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def _check_value(self, action: argparse.Action, value: object) -> None:
        """A value outside ``choices`` (a subcommand, ``--codec``): name the closest one."""
        choices = action.choices
        if choices is None or value in choices or not isinstance(value, str):
            super()._check_value(action, value)
            return
        names = ", ".join(map(str, choices))
        hint = _did_you_mean(value, [str(c) for c in choices])
        raise argparse.ArgumentError(
            action, f"invalid choice {value!r} (choose from {names}){hint}"
        )

    def unrecognized(self, extras: Sequence[str]) -> None:
        """Exit 2 for arguments no option took, suggesting the option that was meant."""
        options = [
            option
            for action in self._actions
            if action.help != argparse.SUPPRESS
            for option in action.option_strings
        ]
        hints = [
            _did_you_mean(word.split("=", 1)[0], options) for word in extras if word.startswith("-")
        ]
        hint = next((h for h in hints if h), "")
        self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """``"; did you mean X?"`` for the candidate closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _command_parser(parser: argparse.ArgumentParser, name: str | None) -> _Parser | None:
    """The parser of subcommand ``name``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            sub = action.choices[name]
            return sub if isinstance(sub, _Parser) else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``wirefault`` parser with every subcommand, or with subcommand ``only`` alone.

    A subcommand's module imports what it runs (``fuzz``: the whole engine), so a
    command line that names its subcommand first imports that one alone: ``wirefault
    serve``, which tests and ``--start`` launch again after every crash, is ready in
    a third of the time.
    """
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
    for name, module_name in _COMMANDS.items():
        if only is None or name == only:
            module = cast(_Command, importlib.import_module(f"wirefault.cli.{module_name}"))
            module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wirefault`` console script and ``python -m wirefault``."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=words[0] if words and words[0] in _COMMANDS else None)
    args, extras = parser.parse_known_args(words)
    if extras:
        # Reported by the subcommand's parser, which knows the options that were meant.
        command = _command_parser(parser, getattr(args, "command", None))
        (command if command is not None else cast(_Parser, parser)).unrecognized(extras)
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
    """Console-script wrapper that exits with :func:`main`'s status.

    An interrupted command exits 130 however its interrupt lands: a second
    KeyboardInterrupt raised on the way out (a signal handled late, while the
    first one's message was being printed) would otherwise leave Python to die
    of SIGINT (status -2), and once the command is stopping, another Ctrl-C has
    nothing left to stop.
    """
    try:
        status = main()
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    if status == EXIT_INTERRUPTED:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(status)
