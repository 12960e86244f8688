"""Generic properties: oracles that need only a codec, never a spec of the server.

=================  ========================================================
name               passes when
=================  ========================================================
reassembly         requests split into any chunks get the same responses as sent whole
pipelining         requests pipelined in one write get the same responses as one by one
malformed          a malformed frame gets an error or a close in time, and others are served
liveness           a fresh client's probe gets a valid answer (also after every example)
stall-isolation    a stalled client does not delay another client's reply
reset              clients that reset at any byte leave the server serving others
half-close         replies to requests sent before a half-close arrive before the close
large-payload      frames up to the maximum come back whole to a slow reader
strictness         a request the RFC says must be refused is never answered 2xx/3xx (http)
growth             answer time grows no faster than request size (1 to 64 KiB, doubling)
echo               each response equals the request (opt-in)
datagram-reply     every datagram gets a reply, whichever client sent it (UDP)
datagram-sizes     empty, 1-byte and 65507-byte datagrams do not kill the server (UDP)
datagram-faults    duplicated, reordered and delayed datagrams are survived (UDP)
=================  ========================================================
"""

from __future__ import annotations

from wirefault.codecs.base import Codec
from wirefault.errors import UsageError
from wirefault.properties.base import Note, Property, PropertyContext, Verdict
from wirefault.properties.comparison import EchoProperty, LargePayload, Pipelining, Reassembly
from wirefault.properties.datagram import DatagramFaults, DatagramReply, DatagramSizes
from wirefault.properties.growth import Growth
from wirefault.properties.liveness import Liveness, probe_scenario
from wirefault.properties.malformed import Malformed
from wirefault.properties.robustness import HalfCloseProperty, Reset, StallIsolation
from wirefault.properties.strictness import Strictness

__all__ = [
    "PROPERTIES",
    "Note",
    "Property",
    "PropertyContext",
    "Verdict",
    "get_property",
    "probe_scenario",
    "select_properties",
]

#: Every property by name, in the order reports list them.
PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Reassembly(),
        Pipelining(),
        Malformed(),
        Liveness(),
        StallIsolation(),
        Reset(),
        HalfCloseProperty(),
        LargePayload(),
        Strictness(),
        Growth(),
        EchoProperty(),
        DatagramReply(),
        DatagramSizes(),
        DatagramFaults(),
    )
}


def get_property(name: str) -> Property:
    """The property called ``name``.

    Raises:
        UsageError: no such property; the message lists the valid names.
    """
    try:
        return PROPERTIES[name]
    except KeyError:
        raise UsageError(f"unknown property {name!r}; valid: {', '.join(PROPERTIES)}") from None


def select_properties(
    codec: Codec, names: list[str] | None = None, *, oracles: list[str] | None = None
) -> list[Property]:
    """The properties to run against a server speaking ``codec``.

    Args:
        names: properties asked for by name (None: every default one that applies).
        oracles: opt-in oracles to add (``echo``).

    Raises:
        UsageError: an unknown name, or a property that cannot apply to this codec.
    """
    if names:
        chosen = [get_property(n) for n in names]
        for prop in chosen:
            if not prop.applies_to(codec):
                raise UsageError(
                    f"property {prop.name!r} does not apply to codec {codec.name!r} "
                    f"({codec.transport}{'' if codec.framed else ', unframed'})"
                )
    else:
        chosen = [p for p in PROPERTIES.values() if not p.opt_in and p.applies_to(codec)]
    for name in oracles or []:
        prop = get_property(name)
        if not prop.opt_in:
            raise UsageError(f"{name!r} is a property, not an oracle; oracles: echo")
        if prop not in chosen:
            chosen.append(prop)
    return chosen
