"""What the daemon needs of a link, whatever carries it: UDP over IP here, a serial radio
behind firmware_bridge in the gateway.

The engine already owns everything bearer-specific that affects the protocol (MTU,
tag length, airtime budget and access delay come from the interface's InterfaceConfig),
so a link only moves whole frames: ``send`` one toward a neighbour (or every neighbour,
0xFFFF), hand received frames with where they came from to the daemon, and say how it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol


class Link(Protocol):
    name: str
    counters: Counter[str]
    """Frames in and out, and every way one was lost (for status and metrics)."""

    @property
    def is_open(self) -> bool: ...

    def send(self, next_hop: int, data: bytes) -> None:
        """Transmit now; a bearer that cannot (down, buffer full) counts the loss."""

    def learn(self, neighbour: int, source: Any) -> None:
        """``source`` (the bearer's own notion of a sender) sent a verified frame of
        ``neighbour``; unicast to it may go there. Broadcast bearers may ignore it."""

    def describe(self) -> dict[str, Any]:
        """What an operator needs to see in ``tacmesh status``: open, port or device..."""

    def close(self) -> None: ...


OnFrames = Callable[[Link, list[tuple[bytes, Any]]], None]
"""How a link hands the daemon every frame it read in one go, each with its source."""
