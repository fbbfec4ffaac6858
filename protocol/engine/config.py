"""Per-node and per-interface parameters of the engines, with the defaults of SPEC.md §8."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.crypto.suite import IP_TAG_LEN, NARROWBAND_TAG_LEN


class Jitter(Protocol):
    """Injected randomness (``random.Random`` fits): the engines never seed their own."""

    def random(self) -> float: ...


COST_IP = 96
"""Wired-like IP links (Ethernet, good Wi-Fi mesh, private LTE)."""
COST_AIR = 128
"""UAV air-to-ground line of sight."""
COST_NARROWBAND = 512
COST_SATELLITE = 1024

HEARD_EVERY_IP = 8
"""On IP links every 8th hello is full, listing the neighbours heard (SPEC.md §8.1.1)."""
HEARD_EVERY_NARROWBAND = 1
"""On narrowband every hello is full: hellos are 30 s apart, so every 8th would take four
minutes to tell a new neighbour that the link works both ways."""


@dataclass(frozen=True, slots=True)
class InterfaceConfig:
    name: str
    tag_len: int = IP_TAG_LEN
    mtu: int = 1200
    cost: int = COST_IP
    """Base cost of one hop on this interface; link quality multiplies it."""
    hello_interval_s: float = 0.5
    dead_after_intervals: float = 2.5
    """A neighbour silent this many of its hello intervals is lost (SPEC.md §8.1)."""
    heard_every: int = HEARD_EVERY_IP
    """Carry the heard-neighbour list in every n-th hello only: it is most of a hello's size."""
    bitrate_bps: float | None = None
    """Air bit rate of a shared narrowband channel; None for links that are not the bottleneck."""
    duty_cycle: float = 1.0
    """Share of time this node may transmit on the channel (regulation or policy)."""
    airtime_burst_s: float = 1.0
    """Airtime that may be spent at once before the duty-cycle budget paces frames."""
    preamble_s: float = 0.0
    """Per-frame airtime beyond the bytes (radio preamble and header)."""
    custody_timeout_s: float = 2.0
    """Wait this long for a custody acknowledgement before sending again (doubles per try)."""
    access_jitter_s: float = 0.0
    """Before sending from an idle queue, wait a uniform random time up to this long: on a
    shared channel without carrier sense, nodes that react to the same frame must not all
    transmit in the same instant (SPEC.md §5.4)."""
    subnet: bool = False
    """This interface faces a team's tactical sub-net (a gateway's team radio): only the
    node's own prefixes, what lies inside them, and a default route are advertised there,
    and what lies inside them is summarised by them elsewhere (SPEC.md §8.2.5)."""

    @classmethod
    def narrowband(cls, name: str, mtu: int = 222) -> InterfaceConfig:
        """A LoRa-class link: short tag, sparse hellos, high cost."""
        return cls(
            name=name,
            tag_len=NARROWBAND_TAG_LEN,
            mtu=mtu,
            cost=COST_NARROWBAND,
            hello_interval_s=30.0,
            dead_after_intervals=3.5,
            heard_every=HEARD_EVERY_NARROWBAND,
            # LoRa SF7/125 kHz: 5.47 kbit/s, 8-symbol preamble; 10 % duty (EU 869.4-869.65 MHz).
            bitrate_bps=5470.0,
            duty_cycle=0.1,
            airtime_burst_s=2.0,
            preamble_s=0.0125,
            custody_timeout_s=30.0,
            # About ten frame airtimes: five neighbours answering one frame mostly miss
            # each other, and an SOS still leaves within a second.
            access_jitter_s=1.0,
        )


@dataclass(frozen=True, slots=True)
class NodeConfig:
    address: int
    interfaces: tuple[InterfaceConfig, ...]
    prefixes: tuple[Prefix, ...] = ()
    """Address blocks this node announces besides its own address (a gateway's teams)."""
    update_interval_s: float = 90.0
    """Full routing table resent this often; changes go out at once (triggered updates)."""
    hop_limit: int = 8
    store_capacity: int = 4096
    """Messages held for store-and-forward and custody (custody.py); beyond it, refused."""
    groups: frozenset[int] = field(default_factory=frozenset)
    """Group addresses (team, role) this node belongs to, besides all-hands."""

    def interface(self, name: str) -> InterfaceConfig:
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        raise KeyError(f"no interface named {name!r}")
