"""Say which CPython versions tox could not test with, and how to get them.

Run by tox's ``interpreters`` environment, last in the default list, with the
names of the per-version environments (``py310 py311 ...``). For each, it looks
for the interpreter the way those environments did: ``uv python find`` (tox-uv's
discovery: PATH, uv's own installs) with ``PYENV_VERSION`` set to that version,
which lets pyenv's shims run an installed version that is not the active one.
An interpreter tox-uv downloaded is one of uv's installs by then, so it is found.

Prints one line per version; exits 1, with what to do, if any is missing, so that
``tox`` ends in "evaluation failed" rather than "congratulations" when part of the
promised matrix was skipped. Standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

_ENV = re.compile(r"py3(\d+)")


def find(version: str) -> str | None:
    """The path of a CPython ``version`` (``"3.10"``) tox can use, or None."""
    env = dict(os.environ, PYENV_VERSION=version, UV_PYTHON_DOWNLOADS="never")
    uv = shutil.which("uv")
    if uv is not None:
        command = [
            uv,
            "python",
            "find",
            "--system",
            "--python-preference",
            "system",
            f"cpython{version}",
        ]
    else:
        command = [f"python{version}", "-c", "import sys; print(sys.executable)"]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[-1] if done.returncode == 0 and lines else None


def main(names: list[str]) -> int:
    """Report on each ``py3N`` environment name; 1 if an interpreter is missing."""
    versions = [f"3.{m.group(1)}" for name in names if (m := _ENV.fullmatch(name))]
    missing = []
    for version in versions:
        path = find(version)
        env = f"py{version.replace('.', '')}"
        print(f"  CPython {version}: {path or f'NOT FOUND: tox skips {env}'}")
        if path is None:
            missing.append(version)
    if not missing:
        print(f"every CPython of the matrix was found: {', '.join(versions)}")
        return 0
    have = [f"py{v.replace('.', '')}" for v in versions if v not in missing]
    if "py311" not in have:
        have.append("slow")  # py311 is the one that runs the slow tests too (tox.ini)
    wanted = " ".join(missing)
    print(
        f"\nCPython {', '.join(missing)} missing: not on PATH, not in pyenv, not among uv's "
        "Pythons, and not downloaded by tox-uv (offline, or UV_PYTHON_DOWNLOADS=never?).\n"
        f"Get it with `uv python install {wanted}` (or `pyenv install {wanted}`, or your "
        "system's packages) and run tox again; tox finds it by itself.\n"
        f"To run only what this machine has: tox -e {','.join([*have, 'lint', 'type'])}"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
