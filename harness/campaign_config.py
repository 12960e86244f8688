"""What a campaign is given: its configuration, and the progress hook it calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wirefault.addresses import Address
from wirefault.codecs.base import Codec
from wirefault.properties import Property

__all__ = ["CampaignConfig", "Progress", "ProgressHook"]


@dataclass(frozen=True)
class CampaignConfig:
    """What to fuzz and how.

    Attributes:
        address: where the server listens (updated from ``server`` when one is managed).
        codec: the protocol's framing.
        properties: the properties to run; their first rounds go in this order.
        profile: Hypothesis profile: ``ci``, ``dev`` or ``thorough``.
        max_examples: examples per property (None: the profile's).
        time_budget: wall-clock seconds for the whole campaign, counted from the
            campaign's creation (unless it is given a cutoff): examples, shrinking,
            verification, restarts. Past it the campaign reports what it has.
        seed: makes Hypothesis's choices reproducible.
        deadline: runner deadline (seconds without progress that count as a hang).
        out_dir: where replay files go.
        verify: extra replays of each shrunk failure (the agreement rate).
        shrink_budget: seconds Hypothesis may spend shrinking one failure; past it the
            smallest failing scenario found so far is kept.
        shrink_deadline: the runner's deadline while shrinking (default: a quarter of
            ``deadline``, at least 0.25 s). A shrink step that fails by a timeout costs
            a whole deadline; the shrunk failure is then verified with the full one, so
            a verdict that only a shorter deadline produces is never reported.
        label: distinguishes example-database entries of different servers.
        exitfirst: stop at the first failure once it is shrunk, verified and saved.
        samples: whole requests of the codec (``--requests``) that every property draws
            from as well as generated ones; the first is the probe unless ``probe`` is set.
        preamble: a handshake sent on every connection before its first step, its
            replies read and not counted (``--preamble``); kept in replay files.
        fallback: when the fault layer stops answering (Toxiproxy's API, even after a
            retry), go on with the embedded layer, saying so once; else stop (exit 2).
        early_timeouts: let a read end as a timeout before the deadline once the
            server's silence is certain (see :mod:`wirefault.patience`); failures
            that rest on one are confirmed with the full deadline before reporting
            (so there are none with ``verify=0``).
    """

    address: Address
    codec: Codec
    properties: tuple[Property, ...]
    profile: str = "ci"
    max_examples: int | None = None
    time_budget: float | None = None
    seed: int | None = None
    deadline: float = 1.0
    out_dir: Path = Path("wirefault-out")
    verify: int = 3
    shrink_budget: float = 30.0
    shrink_deadline: float | None = None
    label: str = ""
    greeting: bool = False
    probe: bytes | None = None
    start: str | None = None
    backend: str | None = None
    exitfirst: bool = False
    samples: tuple[bytes, ...] = ()
    preamble: tuple[bytes, ...] = ()
    fallback: bool = False
    early_timeouts: bool = True

    def __post_init__(self) -> None:
        if self.probe is None and self.samples:
            # A frozen dataclass sets its fields once: here, the probe defaults to a sample.
            object.__setattr__(self, "probe", self.samples[0])


@dataclass(frozen=True)
class Progress:
    """What the progress hook is told after every example.

    Attributes:
        property: the property that played it.
        examples: examples played so far, all properties together.
        failures: failures reported so far (shrunk and verified).
        first_failure: seconds from the start of the run to the first failing
            example seen (before shrinking and verifying), or None.
        failing: the property has a failing example (it is being shrunk).
    """

    property: str
    examples: int
    failures: int
    first_failure: float | None
    failing: bool = False


ProgressHook = Callable[[Progress], None]
