"""What an engine hands back to its driver."""

from __future__ import annotations

from dataclasses import dataclass

from tacmesh.protocol.codec import Received
from tacmesh.protocol.priority import Priority


@dataclass(frozen=True, slots=True)
class Transmit:
    """Put ``data`` on ``interface``, addressed (at the link layer) to ``next_hop``."""

    interface: str
    next_hop: int
    """A neighbour's address, or 0xFFFF for every neighbour on the link."""
    data: bytes
    priority: Priority


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message for a local application."""

    message: Received
    interface: str
