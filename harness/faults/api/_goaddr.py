"""Addresses as Toxiproxy's Go server reads, resolves and reports them.

Toxiproxy keeps a proxy's ``listen`` as the text it was given until the proxy
listens, then as Go formats the bound address (``localhost:0`` becomes
``127.0.0.1:40123``, ``:0`` becomes ``[::]:40123``), compares addresses after
resolving them (``net.ResolveTCPAddr``), and quotes Go's ``net`` errors in its
error bodies ("listen tcp 127.0.0.1:3310: bind: address already in use").
This module does the same with the standard library. Resolving a name asks the
system resolver; nothing here opens a socket.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

__all__ = ["GoAddrError", "TcpAddr", "bind_error", "parse_upstream", "resolve_tcp_addr"]


class GoAddrError(Exception):
    """An address Go's ``net`` package refuses; ``str()`` is Go's message."""


@dataclass(frozen=True)
class TcpAddr:
    """A resolved TCP address: an IP literal (empty: every interface) and a port."""

    ip: str
    port: int

    def __str__(self) -> str:
        if not self.ip:
            return f":{self.port}"
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    @property
    def bind_host(self) -> str:
        """The host to bind: every interface (dual-stack ``::``) when :attr:`ip` is empty."""
        return self.ip or "::"


def split_host_port(text: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``.

    Raises:
        GoAddrError: ``address X: missing port in address`` and Go's other messages.
    """
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise GoAddrError(f"address {text}: missing ']' in address")
        host, rest = text[1:end], text[end + 1 :]
        if not rest:
            raise GoAddrError(f"address {text}: missing port in address")
        if not rest.startswith(":"):
            raise GoAddrError(f"address {text}: unexpected ']' in address")
        port = rest[1:]
    else:
        host, colon, port = text.rpartition(":")
        if not colon:
            raise GoAddrError(f"address {text}: missing port in address")
        if ":" in host:
            raise GoAddrError(f"address {text}: too many colons in address")
    if "[" in host or "]" in host or "[" in port or "]" in port:
        raise GoAddrError(f"address {text}: unexpected '[' in address")
    return host, port


def _port(text: str) -> int:
    """A port number or a service name (``http``), as Go's resolver takes it."""
    if text == "":
        return 0
    if text.lstrip("+-").isdigit():
        number = int(text)
        if not 0 <= number <= 65535:
            raise GoAddrError(f"address {text}: invalid port")
        return number
    try:
        return socket.getservbyname(text, "tcp")
    except OSError:
        raise GoAddrError(f"lookup tcp/{text}: unknown port") from None


def _ip(host: str) -> str:
    """``host`` as an IP literal, resolved if it is a name (IPv4 first, as Go's resolver)."""
    if not host:
        return ""
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise GoAddrError(f"lookup {host}: no such host") from None
    v4 = [info for info in infos if info[0] == socket.AF_INET]
    return str((v4 or infos)[0][4][0])


def resolve_tcp_addr(text: str) -> TcpAddr:
    """Go's ``net.ResolveTCPAddr("tcp", text)``.

    Raises:
        GoAddrError: an address that has no port, a bad port or an unknown host.
    """
    host, port = split_host_port(text)
    return TcpAddr(_ip(host), _port(port))


def parse_upstream(text: str) -> tuple[str, int]:
    """Where to dial an upstream Toxiproxy will dial later: ``(host, port)``.

    Toxiproxy takes any upstream text and fails only when a client connects
    and the dial fails (the client is then closed). An upstream that does not
    parse comes back as a host no dial can reach, so the same happens here.
    """
    try:
        host, port = split_host_port(text)
        return host, _port(port)
    except GoAddrError:
        return text, 0


def bind_error(addr: TcpAddr, exc: OSError) -> str:
    """Go's message for a listen that failed at bind (``... bind: address already in use``)."""
    reason = exc.strerror or str(exc)
    return f"listen tcp {addr}: bind: {reason[:1].lower()}{reason[1:]}"
