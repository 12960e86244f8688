"""``wirefault serve NAME``: run a reference or buggy target server in the foreground."""

from __future__ import annotations

import argparse
import sys
import traceback

from wirefault.errors import WirefaultError

__all__ = ["EXIT_SERVER_CRASHED", "add_parser", "run"]

#: Exit status when the target server itself raised (a buggy one may, on purpose).
EXIT_SERVER_CRASHED = 1

EPILOG = """\
Prints 'listening on HOST:PORT' once the server listens (with --port 0, the port the
system chose), serves until Ctrl-C or SIGTERM, then exits 0; exits 1 with the
traceback on stderr if the server itself crashes. WIREFAULT_IDLE_TIMEOUT
(seconds, default 30) is how long a silent client may hold a connection.
examples:
  wirefault serve echo-selectors --port 7000
  wirefault fuzz tcp://127.0.0.1:0 --codec line --start 'wirefault serve line --port {port}'
  wirefault targets            # every NAME, with its protocol and, for buggy ones, the bug
"""


def _port(text: str) -> int:
    """argparse type: a TCP/UDP port, 0 meaning "any free port"."""
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {port}")
    return port


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault serve``."""
    p = subparsers.add_parser(
        "serve",
        help="run one of wirefault's target servers (reference or buggy)",
        description="Run the target server NAME in the foreground. "
        "See 'wirefault targets' for the names.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", help="a target name, such as echo-threaded or http")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=0, help="port to bind (default 0: any free port)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault serve``; returns 0 after SIGINT or SIGTERM.

    Raises:
        UsageError: unknown NAME (the message lists the valid ones).
        TargetError: the server cannot listen on HOST:PORT.
    """
    # Imported here so that other subcommands do not pay for importing targets.
    from wirefault.targets import get_target
    from wirefault.targets._serving import idle_timeout, run_target

    host = args.host.strip("[]")  # accept [::1] as well as ::1
    info = get_target(args.name)
    idle_timeout()  # a bad WIREFAULT_IDLE_TIMEOUT is a usage error before we bind
    module = info.load()
    try:
        return run_target(module, host, args.port)
    except WirefaultError:
        raise
    except Exception:
        # The target itself crashed (a buggy one does, on purpose): that is the
        # server's failure, not wirefault's, so say so with its traceback.
        traceback.print_exc()
        print(f"wirefault serve: the {info.name} server crashed", file=sys.stderr)
        return EXIT_SERVER_CRASHED
