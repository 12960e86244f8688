"""The one exception family of wirefault.

Every error wirefault raises on purpose is a :class:`WirefaultError`. Its
message says what was observed, what was expected, and what to do next, so
that the command line can print it as one line and exit with
:attr:`WirefaultError.exit_status`.

OS errors are translated once, at the I/O edge (the runner, the fault
backends, the target manager), into these classes.
"""

from __future__ import annotations

__all__ = [
    "CodecError",
    "FaultLayerError",
    "FaultLayerUnavailable",
    "FrameError",
    "ReplayError",
    "TargetError",
    "UsageError",
    "WirefaultError",
]


class WirefaultError(Exception):
    """Root of every error wirefault raises on purpose.

    ``exit_status`` is the status the command line exits with when the error
    reaches it: 2 for usage and setup errors (the documented default).
    """

    exit_status: int = 2


class UsageError(WirefaultError, ValueError):
    """An argument or option is wrong; the message names it and a valid form."""


class TargetError(WirefaultError):
    """The server under test cannot be reached, started, or kept running."""


class FaultLayerError(WirefaultError):
    """A fault backend (Toxiproxy or the embedded proxy) failed or refused a request."""


class FaultLayerUnavailable(FaultLayerError):
    """The fault backend stopped answering (no answer in time, even on a retry; unreachable).

    Not a verdict on the server under test: a campaign may go on with another fault
    layer, or stop with exit status 2.
    """


class CodecError(WirefaultError):
    """A codec was misused or misconfigured (our side's fault, not the peer's)."""


class FrameError(CodecError):
    """Bytes from the peer cannot be a frame of this codec (the peer's fault).

    Attributes:
        offset: how many bytes of the stream were consumed before the bad frame.
    """

    def __init__(self, message: str, *, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


class ReplayError(WirefaultError):
    """A replay file is missing, not JSON, truncated, or not a wirefault replay."""
