"""Run default campaigns against correct servers, over and over, and count false alarms.

A correct server must never be reported. For each of wirefault's reference
servers, the stdlib's ``ThreadingHTTPServer`` (``python -m http.server``), and
Debian's redis-server, nginx and memcached, run ``--rounds`` (default 10)
consecutive **default** campaigns — ``wirefault fuzz TARGET --codec C --start CMD``
with the CLI's defaults (``dev`` profile: 100 examples per property, deadline 1 s,
``--backend auto``), no seed, a fresh ``--out`` each — in a rotating order, and
report every failure (expected: none) and the notes the campaigns made.

Known, documented findings are not false alarms but are still listed: redis drops
a connection on a ``POST`` or ``Host:`` command (docs/REAL_SERVERS.md).

Prints Markdown and writes docs/FALSE_ALARMS.md. A script, not a test (it takes
a while: about 12 servers x 10 rounds)::

    python benchmarks/bench_false_alarms.py              # 10 rounds
    python benchmarks/bench_false_alarms.py --rounds 2   # a quick look
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import DOCS, header, progress, run_command, table

from wirefault.targets import all_targets

#: Seconds one campaign may take before it counts as stuck (a finding of its own).
CAMPAIGN_TIMEOUT = 900.0
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


@dataclass(frozen=True)
class Server:
    """A correct server to fuzz: its name, the target URL, codec and start command."""

    name: str
    target: str
    codec: str
    start: str


@dataclass
class Runs:
    """Every campaign against one server."""

    server: Server
    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    examples: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _binary(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=_SBIN)


def servers(workdir: Path) -> list[Server]:
    """The servers: wirefault's reference ones, then the stdlib's and Debian's if installed."""
    python = shlex.quote(sys.executable)
    chosen = [
        Server(
            t.name,
            f"{'udp' if t.transport == 'udp' else 'tcp'}://127.0.0.1:0",
            t.protocol,
            f"{python} -m wirefault serve {t.name} --port {{port}}",
        )
        for t in all_targets()
        if t.kind == "reference"
    ]
    www = workdir / "www"
    www.mkdir()
    (www / "index.html").write_text("ok\n")
    chosen.append(
        Server(
            "ThreadingHTTPServer",
            "tcp://127.0.0.1:0",
            "http",
            f"{python} -m http.server {{port}} --bind 127.0.0.1 "
            f"--directory {shlex.quote(str(www))}",
        )
    )
    redis = _binary("redis-server")
    if redis:
        data = workdir / "redis"
        data.mkdir()
        chosen.append(
            Server(
                "redis-server",
                "tcp://127.0.0.1:0",
                "resp",
                f"exec {shlex.quote(redis)} --port {{port}} --bind 127.0.0.1 --save '' "
                f"--appendonly no --dir {shlex.quote(str(data))}",
            )
        )
    nginx = _binary("nginx")
    if nginx:
        prefix = workdir / "nginx"
        prefix.mkdir()
        (prefix / "nginx.conf.in").write_text(NGINX_CONF.format(tmp=prefix))
        conf = shlex.quote(str(prefix / "nginx.conf"))
        chosen.append(
            Server(
                "nginx",
                "tcp://127.0.0.1:0",
                "http",
                f"sed 's/@PORT@/{{port}}/' {shlex.quote(str(prefix / 'nginx.conf.in'))} > {conf}"
                f" && exec {shlex.quote(nginx)} -c {conf} -p {shlex.quote(str(prefix))}"
                f" -e {shlex.quote(str(prefix / 'error.log'))}",
            )
        )
    memcached = _binary("memcached")
    if memcached:
        chosen.append(
            Server(
                "memcached",
                "tcp://127.0.0.1:0",
                "line",
                f"exec {shlex.quote(memcached)} -p {{port}} -l 127.0.0.1 -U 0 -u root -m 16",
            )
        )
    return chosen


def campaign(server: Server, out: Path, runs: Runs) -> None:
    """One default campaign against ``server``; its result added to ``runs``."""
    argv = [sys.executable, "-m", "wirefault", "fuzz", server.target, "--codec", server.codec]
    argv += ["--start", server.start, "--json", "--out", str(out)]
    began = time.monotonic()
    try:
        done = run_command(argv, timeout=CAMPAIGN_TIMEOUT)
    except Exception as exc:  # a stuck campaign is a finding, not a crash of the benchmark
        runs.errors.append(f"{type(exc).__name__}: {exc}")
        return
    runs.seconds.append(time.monotonic() - began)
    runs.statuses.append(done.returncode)
    if done.returncode not in (0, 1):
        runs.errors.append(f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
        return
    summary = json.loads(done.stdout)
    runs.examples.append(summary["examples"])
    for failure in summary["failures"]:
        runs.failures.append(
            f"{failure['property']} ({failure.get('kind', '?')}): {failure['message'][:300]}"
        )
    for note in summary.get("notes", []):
        topic = f"{note['property']}: {note['note'][:160]}"
        runs.notes[topic] = runs.notes.get(topic, 0) + 1


def report(all_runs: list[Runs], rounds: int, elapsed: float) -> str:
    """The Markdown report."""
    rows = []
    for r in all_runs:
        seconds = sorted(r.seconds)
        median = seconds[len(seconds) // 2] if seconds else float("nan")
        rows.append(
            (
                r.server.name,
                r.server.codec,
                f"{len(r.statuses)}/{rounds}",
                sum(1 for s in r.statuses if s == 1),
                len(r.errors),
                f"{median:.1f}",
                sum(r.examples),
            )
        )
    lines = [
        header(),
        f"{rounds} rounds, {elapsed / 60:.1f} minutes in all.\n",
        table(
            [
                "server",
                "codec",
                "campaigns",
                "with a failure",
                "errors",
                "median s",
                "examples",
            ],
            rows,
            "llrrrrr",
        ),
        "",
    ]
    for r in all_runs:
        if r.failures or r.errors:
            lines.append(f"**{r.server.name}**:")
            lines.extend(f"* failure: {f}" for f in r.failures)
            lines.extend(f"* error: {e}" for e in r.errors)
            lines.append("")
    notes = [(r.server.name, t, n) for r in all_runs for t, n in r.notes.items()]
    if notes:
        lines.append("Notes (not failures), by server, with the number of campaigns:\n")
        lines.extend(f"* {name} ({n}x): {topic}" for name, topic, n in notes)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Run the rounds, print the report, write docs/FALSE_ALARMS.md (unless --no-write)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", help="comma-separated server names")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wf-false-alarms-") as tmp:
        workdir = Path(tmp)
        chosen = servers(workdir)
        if args.only:
            names = set(args.only.split(","))
            chosen = [s for s in chosen if s.name in names]
        all_runs = [Runs(s) for s in chosen]
        for round_number in range(args.rounds):
            # Rotate the order: a loaded minute should not always hit the same server.
            shift = round_number % len(all_runs)
            for runs in all_runs[shift:] + all_runs[:shift]:
                out = workdir / f"out-{runs.server.name}-{round_number}"
                progress(f"round {round_number + 1}/{args.rounds}: {runs.server.name}")
                campaign(runs.server, out, runs)
                shutil.rmtree(out, ignore_errors=True)
    text = report(all_runs, args.rounds, time.monotonic() - began)
    print(text)
    if not args.no_write:
        intro = (DOCS / "FALSE_ALARMS.md").read_text().split("<!-- results -->")[0]
        (DOCS / "FALSE_ALARMS.md").write_text(intro + "<!-- results -->\n\n" + text + "\n")


if __name__ == "__main__":
    main()
