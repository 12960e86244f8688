"""Parsing of the addresses users type: ``HOST:PORT``, ``tcp://``, ``udp://``, ``unix://``.

Pure functions and plain data; no sockets are opened here.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Literal

from wirefault.errors import UsageError

__all__ = ["Address", "Transport", "format_hostport", "parse_address", "parse_hostport"]

Transport = Literal["tcp", "udp", "unix"]


@dataclass(frozen=True)
class Address:
    """Where a server listens.

    Attributes:
        transport: ``tcp``, ``udp`` or ``unix`` (an AF_UNIX stream socket).
        host: an IP literal or name (empty for ``unix``).
        port: the port (0 for ``unix``; 0 also means "pick a free one" where allowed).
        path: the socket path for ``unix``, else empty.
    """

    transport: Transport
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def family(self) -> socket.AddressFamily:
        """The socket family to use for this address."""
        if self.transport == "unix":
            return socket.AF_UNIX
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    @property
    def hostport(self) -> str:
        """``HOST:PORT`` with IPv6 literals bracketed, or the path for ``unix``."""
        if self.transport == "unix":
            return self.path
        return format_hostport(self.host, self.port)

    def sockaddr(self) -> tuple[str, int] | str:
        """The address as ``socket.connect`` takes it."""
        if self.transport == "unix":
            return self.path
        return (self.host, self.port)

    def with_port(self, port: int) -> Address:
        """A copy with another port."""
        return Address(self.transport, self.host, port, self.path)

    def __str__(self) -> str:
        if self.transport == "unix":
            return f"unix://{self.path}"
        return f"{self.transport}://{self.hostport}"


def format_hostport(host: str, port: int) -> str:
    """Format ``host:port``, bracketing IPv6 literals (``[::1]:80``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_hostport(
    text: str, *, what: str = "address", allow_zero: bool = False
) -> tuple[str, int]:
    """Parse ``HOST:PORT`` or ``[V6]:PORT`` into ``(host, port)``.

    Raises:
        UsageError: the text has no port, a bad port, or an unclosed bracket.
    """
    example = f"expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080 for the {what}"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise UsageError(f"bad {what} {text!r}: {example}")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or ":" in host:
            raise UsageError(f"bad {what} {text!r}: {example}")
    if not host:
        raise UsageError(f"bad {what} {text!r}: the host is empty; {example}")
    try:
        port = int(port_text, 10)
    except ValueError:
        raise UsageError(f"bad {what} {text!r}: port {port_text!r} is not a number") from None
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise UsageError(f"bad {what} {text!r}: port must be in {low}..65535, got {port}")
    return host, port


def parse_address(text: str, *, allow_zero: bool = False) -> Address:
    """Parse a target as typed on the command line.

    Accepts ``HOST:PORT`` and ``tcp://HOST:PORT`` (TCP), ``udp://HOST:PORT``,
    ``unix:///PATH``, with IPv6 literals as ``[::1]:PORT``.

    Raises:
        UsageError: with the accepted forms when the text fits none of them.
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    scheme = scheme.lower()
    if scheme == "unix":
        if not rest.startswith("/"):
            raise UsageError(
                f"bad target {text!r}: a unix socket needs an absolute path, as unix:///tmp/app.sock"
            )
        return Address("unix", path=rest)
    if scheme not in ("tcp", "udp"):
        raise UsageError(
            f"bad target {text!r}: unknown scheme {scheme!r}; "
            "use HOST:PORT, tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH"
        )
    host, port = parse_hostport(rest, what="target", allow_zero=allow_zero)
    transport: Transport = "udp" if scheme == "udp" else "tcp"
    return Address(transport, host, port)
