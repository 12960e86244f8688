"""The campaign's use of its fault layer: what to do when it stops answering.

**Fall back.**
A slow or lost fault layer (Toxiproxy's API not answering, even after its
client's retry) says nothing about the server under test, so it must never
become a verdict. A campaign allowed to (``CampaignConfig.fallback``, which
``wirefault fuzz --backend auto`` sets) says so once and goes on with the
embedded layer; otherwise it stops with a :class:`~wirefault.errors.FaultLayerError`
(exit status 2) whose one line says what to do.

**Ask less of it.** The campaign deletes a Toxiproxy proxy after every scenario
(a fresh proxy per scenario keeps Toxiproxy's links and toxics in step), so the
runner need not remove the scenario's toxics one by one first
(:class:`DeletedAfterPlay`): Toxiproxy's toxic removal flushes what the toxic
holds to a link that may be gone ("could not write to output in 5 seconds",
once per packet), which held a DELETE for more than 25 s against a server that
closes connections it has not read.
"""

from __future__ import annotations

import logging

from wirefault.errors import FaultLayerError, FaultLayerUnavailable
from wirefault.faults.base import FaultLayer, FaultProxy
from wirefault.faults.toxics import Toxic

__all__ = ["DeletedAfterPlay", "FaultLayerFallback"]

log = logging.getLogger("wirefault")
#: Characters of the error kept in the note (the warning on stderr has it all).
_BRIEF = 300


class FaultLayerFallback:
    """The embedded layer a campaign falls back to, opened on first need and closed by it.

    Args:
        allowed: whether falling back is allowed (else a lost layer stops the campaign).
    """

    def __init__(self, *, allowed: bool) -> None:
        self.allowed = allowed
        self.layer: FaultLayer | None = None
        self._notice = ""

    def replace(
        self, lost: FaultLayer | None, proxy: FaultProxy | None, error: FaultLayerUnavailable
    ) -> FaultLayer:
        """The layer to use instead of ``lost``, whose ``proxy`` is abandoned.

        Raises:
            FaultLayerError: falling back is not allowed (or already done).
        """
        backend = lost.backend if lost is not None else "the fault layer"
        if not self.allowed or self.layer is not None:
            raise FaultLayerError(
                f"{error}; the campaign stops, as the fault layer must answer for its results "
                "to mean anything (use --backend embedded for wirefault's own proxy)"
            ) from error
        abandon = getattr(proxy, "abandon", None)
        if callable(abandon):
            abandon()  # forgotten without another call to a backend that does not answer
        from wirefault.faults.embedded import EmbeddedFaultLayer

        self.layer = EmbeddedFaultLayer()
        said = (
            f"the {backend} fault layer stopped answering ({{}}); the rest of the campaign "
            "used the embedded fault layer"
        )
        log.warning("wirefault: %s", said.format(error))  # whole, with the server's log tail
        brief = str(error) if len(str(error)) <= _BRIEF else str(error)[:_BRIEF] + "..."
        self._notice = said.format(brief)
        return self.layer

    def take_notice(self) -> list[str]:
        """The notice of a fall-back, once (for the result of the property it happened in)."""
        notice, self._notice = self._notice, ""
        return [notice] if notice else []

    def close(self) -> None:
        """Close the fall-back layer, if one was opened."""
        if self.layer is not None:
            self.layer.close()
            self.layer = None


class DeletedAfterPlay(FaultProxy):
    """A proxy the campaign deletes after the scenario: clearing its toxics is left to that.

    Every other operation goes to ``proxy``.
    """

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.name = proxy.name
        self.listen = proxy.listen
        self.upstream = proxy.upstream

    def add_toxic(self, toxic: Toxic) -> None:
        """Apply ``toxic`` (see :meth:`FaultProxy.add_toxic`)."""
        self.proxy.add_toxic(toxic)

    def remove_toxic(self, name: str) -> None:
        """Remove one toxic, as a scenario's RemoveToxic step asks."""
        self.proxy.remove_toxic(name)

    def toxics(self) -> list[Toxic]:
        """The toxics now applied."""
        return self.proxy.toxics()

    def clear_toxics(self) -> None:
        """Nothing: the whole proxy is deleted right after."""

    def disable(self) -> None:
        """Take the proxy down."""
        self.proxy.disable()

    def enable(self) -> None:
        """Bring it back."""
        self.proxy.enable()

    def close(self) -> None:
        """Delete the proxy."""
        self.proxy.close()
