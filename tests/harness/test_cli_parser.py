"""The command line's parser: a subcommand named first imports that subcommand alone."""

from __future__ import annotations

import subprocess
import sys

from wirefault.cli import build_parser

# What the other subcommands' parsers import: codecs (fuzz's --codec choices), replay
# files and reports (replay, show), the fault layer (proxy).
_OTHERS = ("wirefault.codecs", "wirefault.replay", "wirefault.report", "wirefault.faults")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())


def test_serve_does_not_import_the_engine() -> None:
    """`wirefault serve` is what --start and the tests launch after every crash."""
    loaded = _modules_after(
        "from wirefault.cli import main\n"
        "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert "wirefault.cli.serve" in loaded
    assert not loaded.intersection(_OTHERS)


def test_the_whole_parser_still_knows_every_subcommand() -> None:
    loaded = _modules_after("from wirefault.cli import build_parser\nbuild_parser()")
    assert loaded.issuperset(_OTHERS)
    args = build_parser().parse_args(["serve", "echo-threaded", "--port", "0"])
    assert args.command == "serve" and args.port == 0
