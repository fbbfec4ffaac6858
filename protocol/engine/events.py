"""What an engine hands back to its driver."""

from __future__ import annotations

from dataclasses import dataclass

from tacmesh.protocol.codec import Received
from tacmesh.protocol.priority import Priority


@dataclass(slots=True)
class Transmit:
    """Put ``data`` on ``interface``, addressed (at the link layer) to ``next_hop``."""

    interface: str
    next_hop: int
    """A neighbour's address, or 0xFFFF for every neighbour on the link."""
    data: bytes
    priority: Priority

    # Written out, and not frozen: compiled, mypyc calls this __init__ natively, where a
    # dataclass's generated one runs interpreted (frozen: an object.__setattr__ a field),
    # 8x slower; one of these is made for every frame (README, "The compiled core").
    def __init__(self, interface: str, next_hop: int, data: bytes, priority: Priority) -> None:
        self.interface = interface
        self.next_hop = next_hop
        self.data = data
        self.priority = priority


@dataclass(slots=True)
class Delivery:
    """A message for a local application."""

    message: Received
    interface: str

    def __init__(self, message: Received, interface: str) -> None:  # as Transmit's
        self.message = message
        self.interface = interface
