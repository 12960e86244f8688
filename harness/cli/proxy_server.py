"""``wirefault proxy-server``: Toxiproxy's HTTP API, served by the embedded proxy.

::

    toxiproxy-cli / toxiproxy-python / any Toxiproxy client ──HTTP──> --host:--port
        └─> proxies created through the API (embedded backend)

A drop-in for ``toxiproxy-server``: same API, same ``-config`` file format.
Prints ``listening on HOST:PORT (Toxiproxy API)`` once the API answers, then
one ``proxy NAME: LISTEN -> UPSTREAM`` line per proxy of ``--config``, and runs
until SIGINT or SIGTERM, when it closes every proxy and exits 130.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from wirefault.addresses import format_hostport

__all__ = ["add_parser", "run"]

EPILOG = """\
The API is Toxiproxy 2.12's (GET/POST /proxies, /populate, /reset, /version,
/proxies/NAME[/toxics[/TOXIC]]), so toxiproxy-cli and the Toxiproxy clients drive it.
wirefault's own additions - UDP proxies, unix:// upstreams, every wirefault toxic,
seed and connection - are under /wirefault/proxies... and /wirefault/toxics.
--config takes Toxiproxy's -config file: a JSON list of {name, listen, upstream, enabled}.
toxiproxy-server's -host, -port and -config are accepted as well.
exit status: 130 after SIGINT or SIGTERM; 2 for a bad option, an unusable --config,
or an address that cannot be bound.
examples:
  wirefault proxy-server                     # the API on 127.0.0.1:8474, as toxiproxy-server
  toxiproxy-cli create -l 127.0.0.1:26379 -u 127.0.0.1:6379 redis
  toxiproxy-cli toxic add -t latency -a latency=100 redis
  wirefault proxy-server --port 0 --config proxies.json
"""

#: Exit status after SIGINT or SIGTERM (the CLI's "interrupted").
EXIT_STOPPED = 130


def _port(text: str) -> int:
    """argparse type: a TCP port, 0 meaning a free one."""
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 0..65535, got {port}")
    return port


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault proxy-server``."""
    p = subparsers.add_parser(
        "proxy-server",
        help="serve Toxiproxy's HTTP API with the embedded proxy (a toxiproxy-server drop-in)",
        description="Serve Toxiproxy 2.12's HTTP API; the proxies it creates are embedded "
        "proxies. Runs until SIGINT or SIGTERM.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # toxiproxy-server's own spellings (-host, -port, -config) work too, for its command lines.
    p.add_argument(
        "--host", "-host", default="127.0.0.1", help="address the API binds (default 127.0.0.1)"
    )
    p.add_argument(
        "--port",
        "-port",
        type=_port,
        default=8474,
        help="port the API binds (default 8474; 0: a free one)",
    )
    p.add_argument(
        "--config",
        "-config",
        type=Path,
        metavar="FILE",
        help="proxies to create at start: Toxiproxy's -config JSON list",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault proxy-server``; returns 130 after SIGINT or SIGTERM.

    Raises:
        UsageError: an unusable --config (the message says which proxy and why).
        FaultLayerError: the API's address cannot be bound.
    """
    from wirefault.faults.api import ToxiproxyApi
    from wirefault.faults.embedded import EmbeddedFaultLayer

    host = args.host.strip("[]")
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with EmbeddedFaultLayer() as layer, ToxiproxyApi(layer, host=host, port=args.port) as api:
            shown = format_hostport(host, api.server.port)
            print(f"listening on {shown} (Toxiproxy API)", flush=True)
            for record in api.populate_file(args.config) if args.config else []:
                print(f"proxy {record.name}: {record.listen} -> {record.upstream}", flush=True)
            _wait_for_a_stop_signal()
    except KeyboardInterrupt:
        pass  # a signal during set-up: what was started is closed already
    finally:
        if threading.current_thread() is threading.main_thread():  # where handlers live
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return EXIT_STOPPED


def _wait_for_a_stop_signal() -> None:
    """Block until SIGINT or SIGTERM; then ignore both, so that teardown runs to its end."""
    try:
        threading.Event().wait()  # main() turns SIGTERM into KeyboardInterrupt, as SIGINT
    except KeyboardInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
