"""``wirefault proxy``: run a fault proxy in the foreground, for manual testing.

::

    client ──> --listen ──[--toxic ...]──> --upstream

Prints ``listening on HOST:PORT (backend NAME)`` once the proxy is up, then one
``toxic ...`` line per toxic, and runs until SIGINT or SIGTERM, when it closes
the proxy and whatever the backend started, and exits 130 (interrupted, as
every wirefault command does on SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Literal

from wirefault.addresses import Address, parse_address, parse_hostport
from wirefault.cli import EXIT_INTERRUPTED
from wirefault.errors import UsageError
from wirefault.faults.toxics import Toxic, parse_toxic

if TYPE_CHECKING:
    from wirefault.codecs.base import Codec
    from wirefault.faults.base import FaultLayer, FaultProxy

__all__ = ["add_parser", "run"]

EPILOG = """\
toxics: TYPE:attr=value,... with Toxiproxy's names and units, e.g.
  latency:latency=200,jitter=20   bandwidth:rate=100,stream=upstream   reset_peer:timeout=500
  timeout:timeout=0   slicer:average_size=4,delay=1000   limit_data:bytes=1024
  split:offsets=1/5   corrupt:offsets=3,mask=1   drop:indices=0/2   (embedded only)
--api HOST:PORT serves Toxiproxy's HTTP API for this proxy (named 'wirefault'), so that
  toxiproxy-cli -h HOST:PORT toxic add -t latency -a latency=100 wirefault  changes it live.
exit status: 130 after SIGINT or SIGTERM, 2 for a bad option or a backend that fails.
examples:
  wirefault proxy --upstream 127.0.0.1:6379 --listen 127.0.0.1:16379 --toxic latency:latency=100
  wirefault proxy --udp --upstream 127.0.0.1:5353 --toxic drop:indices=0
  wirefault proxy --upstream unix:///run/app.sock --toxic slicer:average_size=1
  wirefault proxy --upstream 127.0.0.1:502 --listen 127.0.0.1:1502 --record modbus.txt \
      --codec lenfield --length-offset 4 --length-bytes 2
"""

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _toxic(text: str) -> Toxic:
    """argparse type: ``TYPE:attr=value,...``."""
    try:
        return parse_toxic(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _listen(text: str) -> tuple[str, int]:
    """argparse type: ``HOST:PORT``, port 0 meaning a free one."""
    try:
        return parse_hostport(text, what="listen address", allow_zero=True)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wirefault proxy``."""
    from wirefault.faults import BACKEND_NAMES

    p = subparsers.add_parser(
        "proxy",
        help="run a fault proxy (Toxiproxy or embedded) in front of a server",
        description="Forward --listen to --upstream through the given toxics until "
        "SIGINT or SIGTERM.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        type=_listen,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="where clients connect (default 127.0.0.1:0: a free port, printed at start)",
    )
    p.add_argument(
        "--upstream",
        required=True,
        metavar="ADDRESS",
        help="the server: HOST:PORT, udp://HOST:PORT or unix:///PATH (embedded backend)",
    )
    p.add_argument("--udp", action="store_true", help="proxy UDP datagrams (embedded backend)")
    p.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        default=None,
        help="fault backend (default $WIREFAULT_BACKEND, else auto: Toxiproxy if available)",
    )
    p.add_argument(
        "--toxic",
        type=_toxic,
        action="append",
        default=[],
        metavar="TYPE:ATTR=VALUE,...",
        help="a toxic to apply; repeat for several",
    )
    _add_record_options(p)
    p.add_argument(
        "--api",
        type=_listen,
        metavar="HOST:PORT",
        help="also serve Toxiproxy's HTTP API there, to change the toxics while it runs "
        "(embedded backend; the proxy is called 'wirefault')",
    )
    p.set_defaults(func=run)


def _add_record_options(p: argparse.ArgumentParser) -> None:
    """``--record FILE`` and the codec that cuts what clients send into requests."""
    from wirefault.cli._options import add_codec_options

    p.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write each request clients send (cut by --codec) to FILE, one escaped line "
        "each: the --requests format of wirefault fuzz (TCP only)",
    )
    p.add_argument("--codec", metavar="NAME", help="how --record cuts requests (default raw)")
    add_codec_options(p)


def _record_codec(args: argparse.Namespace, plan: _Plan) -> Codec | None:
    """The codec ``--record`` cuts requests with, checked before anything opens.

    Raises:
        UsageError: --record with --udp, or a bad codec or codec option.
    """
    from wirefault.cli._options import codec_options
    from wirefault.codecs import get_codec

    if args.record is None:
        return None
    if plan.transport == "udp":
        raise UsageError("--record records TCP clients only; drop --udp or --record")
    name = args.codec or "raw"
    return get_codec(name, **codec_options(args, name))


@contextmanager
def _recording(args: argparse.Namespace, codec: Codec | None, proxy: Address) -> Iterator[Address]:
    """Where clients connect: a recorder in front of ``proxy`` with --record, else ``proxy``."""
    if codec is None:
        yield proxy
        return
    from wirefault.recorder import RequestRecorder

    host, port = args.listen
    front = Address("tcp", host, port)
    with RequestRecorder(front, proxy, codec, args.record, server=args.upstream) as recorder:
        print(f"recording requests to {args.record} (codec {codec.name})", file=sys.stderr)
        yield recorder.listen


@dataclass(frozen=True)
class _Plan:
    """What to proxy, checked: addresses with their transport, and the backend to ask for."""

    listen: Address
    upstream: Address
    backend: str | None
    transport: Literal["tcp", "udp"]


def _plan(args: argparse.Namespace) -> _Plan:
    """Resolve the options into addresses and a backend.

    Raises:
        UsageError: conflicting options (``--udp`` with a unix upstream, Toxiproxy with
            a unix socket...).
    """
    text: str = args.upstream
    try:
        upstream = parse_address(text)
    except UsageError as exc:
        raise UsageError(f"--upstream: {exc}") from None
    if args.udp and upstream.transport == "tcp" and "://" not in text:
        upstream = Address("udp", upstream.host, upstream.port)
    if args.udp and upstream.transport != "udp":
        raise UsageError(f"--udp needs a UDP upstream (HOST:PORT or udp://...), got {text!r}")
    backend: str | None = args.backend
    if args.api is not None:
        if backend == "toxiproxy":
            raise UsageError(
                "--api serves the embedded proxy; with --backend toxiproxy use toxiproxy-server's "
                "own API instead (or drop --backend)"
            )
        backend = "embedded"
    if upstream.transport == "unix":
        if backend == "toxiproxy":
            raise UsageError(
                "Toxiproxy cannot dial a unix socket; use --backend embedded for unix:// upstreams"
            )
        backend = "embedded"
    transport: Literal["tcp", "udp"] = "udp" if upstream.transport == "udp" else "tcp"
    host, port = args.listen
    return _Plan(Address(transport, host, port), upstream, backend, transport)


def _open_layer(plan: _Plan, toxics: list[Toxic]) -> FaultLayer:
    """Open the backend; ``auto`` falls back to embedded for toxics Toxiproxy lacks.

    Raises:
        UsageError: a toxic the chosen backend cannot apply (the message says which can).
    """
    from wirefault.faults import open_fault_layer

    layer = open_fault_layer(plan.backend, transport=plan.transport)
    unsupported = [t for t in toxics if not layer.supports(t, plan.transport)]
    if unsupported and layer.backend == "toxiproxy" and plan.backend in (None, "auto"):
        layer.close()
        layer = open_fault_layer("embedded", transport=plan.transport)
        unsupported = [t for t in toxics if not layer.supports(t, plan.transport)]
    if unsupported:
        layer.close()
        hint = "use --backend embedded" if layer.backend == "toxiproxy" else "see --help"
        raise UsageError(
            f"the {layer.backend} backend cannot apply "
            f"{', '.join(t.describe() for t in unsupported)} on {plan.transport}; {hint}"
        )
    return layer


#: The name of the proxy in the API of ``--api`` (``toxiproxy-cli inspect wirefault``).
API_PROXY_NAME = "wirefault"


@contextmanager
def _api(where: tuple[str, int] | None, layer: FaultLayer, proxy: FaultProxy) -> Iterator[None]:
    """Serve Toxiproxy's API for ``proxy`` at ``where`` (nothing when None) while inside."""
    if where is None:
        yield
        return
    from wirefault.faults.api import ToxiproxyApi
    from wirefault.faults.embedded import EmbeddedFaultLayer, EmbeddedProxy

    if not isinstance(layer, EmbeddedFaultLayer) or not isinstance(proxy, EmbeddedProxy):
        raise UsageError(f"--api needs the embedded backend, not {layer.backend}")
    with ToxiproxyApi(layer, host=where[0], port=where[1]) as api:
        api.registry.adopt(proxy)
        print(f"api on {api.url} (proxy {proxy.name})", flush=True)
        yield


class _Stop(Exception):
    """Raised by the signal handler to end the wait."""


class _StopSignals:
    """SIGINT and SIGTERM end :meth:`wait`, and only it.

    A signal that comes earlier, during set-up, is remembered and ends the wait
    at once, so set-up is never cut half-way and teardown always runs in order.
    """

    def __init__(self) -> None:
        self.waiting = False
        self.received: list[int] = []

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: raise :class:`_Stop` if :meth:`wait` is running."""
        self.received.append(signum)
        if self.waiting:
            self.waiting = False  # a second signal during teardown must not cut it
            raise _Stop

    def wait(self) -> None:
        """Block until a stop signal has arrived (raises :class:`_Stop`)."""
        self.waiting = True
        if self.received:
            self.waiting = False
            raise _Stop
        while True:
            # Sleep, not pause(): a signal taken by another thread (the embedded loop's)
            # is still handled here, at the latest when the sleep ends.
            time.sleep(0.5)


@contextmanager
def _stop_signals() -> Iterator[_StopSignals]:
    """Install :class:`_StopSignals` for SIGINT and SIGTERM; restore the old handlers after."""
    gate = _StopSignals()
    previous = {sig: signal.signal(sig, gate.handler) for sig in _STOP_SIGNALS}
    try:
        yield gate
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    """Run ``wirefault proxy``; returns 130 after SIGINT or SIGTERM.

    Raises:
        UsageError: conflicting options or a toxic the backend lacks.
        FaultLayerError: the backend failed (could not start or bind the listen address).
    """
    plan = _plan(args)
    toxics: list[Toxic] = args.toxic
    recording = _record_codec(args, plan)
    try:
        with _stop_signals() as gate, _open_layer(plan, toxics) as layer:
            # With --record, the recorder takes --listen and the proxy a free port behind it.
            behind = Address(plan.listen.transport, "127.0.0.1", 0)
            name = API_PROXY_NAME if args.api else None
            proxy = layer.open_proxy(
                plan.upstream, listen=behind if args.record else plan.listen, name=name
            )
            for toxic in toxics:
                proxy.add_toxic(toxic)
            with _recording(args, recording, proxy.listen) as listen:
                print(f"listening on {listen.hostport} (backend {layer.backend})", flush=True)
                for toxic in toxics:
                    print(f"toxic {toxic.key}: {toxic.describe()}", flush=True)
                print(f"forwarding to {plan.upstream}", file=sys.stderr, flush=True)
                with _api(args.api, layer, proxy):
                    gate.wait()
    except _Stop:
        print("wirefault: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED
