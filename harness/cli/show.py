"""``wirefault show FILE``: a replay file as a timeline, an HTML sequence diagram, a pcap."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wirefault.errors import UsageError
from wirefault.replay import load_replay
from wirefault.report.html import render_html
from wirefault.report.pcap import write_pcap
from wirefault.report.timeline import DEFAULT_WIDTH, render_timeline

__all__ = ["add_parser", "run"]

MIN_WIDTH = 40

EPILOG = """\
The timeline has one column per connection: → is client to server, ← server to client.
exit status: 0 shown, 2 bad replay file or unwritable output.
examples:
  wirefault show .wirefault/replays/reassembly-lenprefix-20250101-120000.json
  wirefault show FILE --html failure.html --pcap failure.pcap --width 140
"""


def _width(text: str) -> int:
    """argparse type: a terminal width of at least :data:`MIN_WIDTH` columns."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of columns, got {text!r}") from None
    if value < MIN_WIDTH:
        raise argparse.ArgumentTypeError(f"expected a width >= {MIN_WIDTH} columns, got {value}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault show``."""
    p = subparsers.add_parser(
        "show",
        help="print a replay file as a timeline; write an HTML sequence diagram or a pcap",
        description="Show what happened in a saved failure: the header, the toxics, the "
        "scenario and a per-connection timeline of every event.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file", type=Path, metavar="FILE", help="a replay file written by wirefault fuzz"
    )
    p.add_argument(
        "--html", type=Path, metavar="OUT.html", help="also write a self-contained HTML report"
    )
    p.add_argument(
        "--pcap",
        type=Path,
        metavar="OUT.pcap",
        help="also write the transcript as synthesised packets (pcap, raw IPv4) for Wireshark",
    )
    p.add_argument(
        "--width",
        type=_width,
        default=DEFAULT_WIDTH,
        metavar="N",
        help=f"width of the timeline in columns (default {DEFAULT_WIDTH})",
    )
    p.set_defaults(func=run)


def _write_text(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path``, turning OS errors into a :class:`UsageError`."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot write the {what} {path}: {reason}; give a writable path"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault show``.

    Raises:
        ReplayError: the file is missing or not a valid replay file.
        UsageError: an output file cannot be written.
    """
    replay = load_replay(args.file)
    # Outputs first: an unwritable path fails before anything is printed.
    if args.html is not None:
        _write_text(args.html, render_html(replay), "HTML report")
        print(f"wirefault: wrote the HTML report to {args.html}", file=sys.stderr)
    if args.pcap is not None:
        write_pcap(replay, args.pcap)
        print(f"wirefault: wrote the pcap to {args.pcap}", file=sys.stderr)
    sys.stdout.write(render_timeline(replay, width=args.width))
    return 0
