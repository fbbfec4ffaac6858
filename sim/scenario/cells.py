"""The air channel plan of a generated operation: relay cells and one relay backbone.

A real operation does not put a hundred radios on one air channel: every radio would hear
every other, each routing change would cost a reception at all of them (O(N²) per round),
and the channel's airtime would be shared by all. Tactical deployments plan frequencies
instead, and so does this module:

- Every relay (ground backbone mast or UAV) serves a **cell**: an ``air`` channel of its
  own, ``cell-<relay>``, on its ``air-cell`` interface.
- Every gateway joins exactly one cell, its nearest relay's: gateway and relay pairs are
  taken closest first, and a pair is skipped once its relay serves ``capacity`` gateways
  (``CELL_GATEWAYS``, or more when there are too few relays to seat everyone), so one
  relay in a crowded spot never carries the whole area.
- The relays and the command post share the **backbone** ``air`` channel, over which cells
  reach each other and command. With no relay at all, the command post serves the only
  cell itself.

Distances are between the plan positions as written to the file (UAVs: their orbit
centre), so a reader of the file can check the rule. Nothing random happens here: the
same positions give the same plan (ties go to the earlier gateway, then relay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BACKBONE_CHANNEL = "backbone"
"""The ``air`` channel of the relays and the command post."""
CELL_INTERFACE = "air-cell"
"""A relay's interface on its own cell (its backbone radio keeps the profile's name)."""
CELL_GATEWAYS = 12
"""Gateways a cell is planned for: with its relay, a channel of at most 13 radios."""

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CellPlan:
    relays: tuple[str, ...]
    """The relays that serve a cell, in file order."""
    home: dict[str, str]
    """Gateway name -> the relay whose cell it joins."""
    capacity: int
    """The most gateways any cell holds."""


def cell_channel(relay: str) -> str:
    return f"cell-{relay}"


def capacity(gateways: int, relays: int) -> int:
    """Gateways per cell: ``CELL_GATEWAYS``, unless the relays are too few for that."""
    return max(CELL_GATEWAYS, math.ceil(gateways / max(1, relays)))


def plan_cells(relays: dict[str, Point], gateways: dict[str, Point]) -> CellPlan:
    """Seat every gateway in a relay's cell, closest pairs first, within ``capacity``.

    ``relays`` must not be empty; both mappings are in file order."""
    if not relays:
        raise ValueError("a cell plan needs at least one relay")
    room = capacity(len(gateways), len(relays))
    pairs = sorted(
        (math.dist(g, r), gi, ri, gateway, relay)
        for gi, (gateway, g) in enumerate(gateways.items())
        for ri, (relay, r) in enumerate(relays.items())
    )
    home: dict[str, str] = {}
    seated = dict.fromkeys(relays, 0)
    for _, _, _, gateway, relay in pairs:
        if gateway not in home and seated[relay] < room:
            home[gateway] = relay
            seated[relay] += 1
    return CellPlan(tuple(relays), home, room)
