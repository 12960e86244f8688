"""``wirefault show FILE...``: replay files as timelines, HTML sequence diagrams, pcaps.

With one FILE, ``--html OUT.html`` and ``--pcap OUT.pcap`` name the files to write.
With several, each gets its own report: ``--html`` and ``--pcap`` then name a
directory (an existing one, or any path ending in ``/``), and the report of
``DIR/pipelining-line-20261123-130101.json`` is ``OUT/pipelining-line-20261123-130101.html``.
A directory works with one FILE too, so a command written for any number of
replay files (``wirefault show wirefault-out/*.json --html wirefault-out/``) works
whatever a glob matches.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from wirefault.errors import UsageError
from wirefault.replay import Replay, load_replay
from wirefault.report.html import render_html
from wirefault.report.pcap import write_pcap
from wirefault.report.timeline import DEFAULT_WIDTH, render_timeline

__all__ = ["add_parser", "run"]

MIN_WIDTH = 40

EPILOG = """\
The timeline has one column per connection: → is client to server, ← server to client.
With several FILEs, --html and --pcap name a directory (ending in / or existing):
one report per replay file, named after it.
exit status: 0 shown, 2 bad replay file or unwritable output.
examples:
  wirefault show wirefault-out/reassembly-lenprefix-20250101-120000.json
  wirefault show FILE --html failure.html --pcap failure.pcap --width 140
  wirefault show wirefault-out/*.json --html wirefault-out/ --pcap wirefault-out/
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
        help="print replay files as timelines; write HTML sequence diagrams or pcaps",
        description="Show what happened in saved failures: for each replay file, the header, "
        "the toxics, the scenario and a per-connection timeline of every event.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "files",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="replay files written by wirefault fuzz (each is shown in turn)",
    )
    p.add_argument(
        "--html",
        metavar="OUT",
        help="also write a self-contained HTML report: a file (one FILE) or a DIR/ (one per FILE)",
    )
    p.add_argument(
        "--pcap",
        metavar="OUT",
        help="also write the transcript as synthesised packets (pcap, raw IPv4) for Wireshark: "
        "a file (one FILE) or a DIR/ (one per FILE)",
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


def _names_a_directory(out: str) -> bool:
    return out.endswith(("/", os.sep)) or Path(out).is_dir()


def _output_paths(out: str | None, files: Sequence[Path], suffix: str, option: str) -> list[Path]:
    """Where each file's ``--html``/``--pcap`` output goes (empty without the option).

    ``out`` is a directory when it ends in ``/`` or exists as one: each file's output
    is then named after it (``DIR/<file stem><suffix>``); otherwise it is the one
    output file, which needs exactly one FILE.

    Raises:
        UsageError: several files and one output file; or two files of the same name,
            whose outputs would overwrite each other.
    """
    if out is None:
        return []
    if not _names_a_directory(out):
        if len(files) > 1:
            raise UsageError(
                f"{len(files)} replay files but {option} {out} names one file: give a "
                f"directory ({option} reports/, any path ending in /) to write one per file"
            )
        return [Path(out)]
    seen: dict[Path, Path] = {}
    for file in files:
        path = Path(out) / (file.stem + suffix)
        if path in seen:
            raise UsageError(
                f"{seen[path]} and {file} would both write {path}: show them in two commands"
            )
        seen[path] = file
    return list(seen)


def _make_directory(out: str | None, option: str) -> None:
    """Create ``out`` when it names a directory that does not exist yet."""
    if out is None or not _names_a_directory(out):
        return
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot create the {option} directory {out}: {reason}; give a writable path"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault show``.

    Raises:
        ReplayError: a file is missing or not a valid replay file (nothing is written).
        UsageError: an output cannot be written, or several files share one output.
    """
    files: list[Path] = list(args.files)
    html_paths = _output_paths(args.html, files, ".html", "--html")
    pcap_paths = _output_paths(args.pcap, files, ".pcap", "--pcap")
    # Every file is read before anything is written or printed: one bad file among
    # many fails the command without leaving half of the reports.
    replays: list[Replay] = [load_replay(f) for f in files]
    _make_directory(args.html, "--html")
    _make_directory(args.pcap, "--pcap")
    for replay, path in zip(replays, html_paths, strict=False):
        _write_text(path, render_html(replay), "HTML report")
        print(f"wirefault: wrote the HTML report to {path}", file=sys.stderr)
    for replay, path in zip(replays, pcap_paths, strict=False):
        write_pcap(replay, path)
        print(f"wirefault: wrote the pcap to {path}", file=sys.stderr)
    for index, (file, replay) in enumerate(zip(files, replays, strict=True)):
        if len(files) > 1:
            # The header `head` and `tail` print between files.
            sys.stdout.write(("\n" if index else "") + f"==> {file} <==\n")
        sys.stdout.write(render_timeline(replay, width=args.width))
    return 0
