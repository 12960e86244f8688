"""Is anything accepting connections on a ``unix://`` target's socket file?

A unix target is fuzzed through a loopback TCP front (the embedded proxy), so a
missing server would otherwise show up as the front's TCP address not answering
the codec's probe. Checking the socket file itself first lets the message name
the path and say what is wrong with it.
"""

from __future__ import annotations

import errno
import os
import socket
import stat

from wirefault.addresses import Address
from wirefault.errors import TargetError

__all__ = ["blame_the_socket", "check_unix_socket"]

_START_IT = "start the server first, or let wirefault start it with --start CMD"


def check_unix_socket(address: Address, *, timeout: float = 5.0) -> None:
    """Connect once to ``address`` (a ``unix://`` target) and close.

    Raises:
        TargetError: the socket file does not exist, is not a socket, may not be
            opened, or nothing accepts connections on it; the message names the path.
    """
    path = address.path
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise TargetError(
            f"{address}: the socket file {path} does not exist; {_START_IT}"
        ) from None
    except OSError as exc:
        raise TargetError(f"{address}: cannot look at {path}: {exc.strerror}") from None
    if not stat.S_ISSOCK(mode):
        raise TargetError(
            f"{address}: {path} is not a unix socket but a {_kind(mode)}; "
            "give the path the server listens on"
        )
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
    except ConnectionRefusedError:
        raise TargetError(
            f"{address}: nothing accepts connections on the socket file {path} (connection "
            f"refused; a server that stopped can leave its socket file behind); {_START_IT}"
        ) from None
    except PermissionError:
        raise TargetError(
            f"{address}: permission denied to connect to {path}; "
            "run wirefault as a user that may write to the socket"
        ) from None
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise TargetError(f"{address}: cannot connect to {path}: {reason}") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "regular file"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    return "special file"


def blame_the_socket(error: TargetError, front: Address, address: Address) -> TargetError:
    """``error`` about the loopback ``front`` of unix target ``address``, reworded to name it."""
    message = str(error).replace(str(front), f"{address} (through its loopback front {front})")
    return TargetError(message)
