"""The HTML report laid out by a real browser: nothing sticks out of a 1400-pixel window.

Headless Chromium (Debian's ``chromium``) loads the report with one added line of
script that records how far the page is wider than the window; the test skips,
with the reason, where no Chromium is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from show_replays import busy_file

from wirefault.replay import load_replay
from wirefault.report.html import render_html

# One browser start per test: run once per tox run (the `slow` env), not per Python.
pytestmark = pytest.mark.slow

PROBE = (
    "<script>document.body.setAttribute('data-overflow', "
    "String(document.documentElement.scrollWidth - window.innerWidth))</script>"
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    reason = "no Chromium installed (apt-get install chromium) to lay the report out"
    if os.environ.get("WIREFAULT_REQUIRE_PEERS") == "1":  # CI: .ci/run installs it
        pytest.fail(f"WIREFAULT_REQUIRE_PEERS=1 but {reason}")
    pytest.skip(reason)


def _overflow(page: Path, profile: Path, width: int) -> int:
    done = subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},900",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    match = re.search(r'data-overflow="(-?\d+)"', done.stdout)
    assert match, f"chromium printed no page: {done.stderr[-500:]}"
    return int(match.group(1))


def test_a_crowded_report_fits_a_1400_pixel_window(tmp_path: Path) -> None:
    page = render_html(load_replay(busy_file(tmp_path)))
    probed = tmp_path / "report.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    assert _overflow(probed, tmp_path / "profile", 1400) <= 0
