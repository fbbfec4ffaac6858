"""Plan a large operation (schema 1) from a few numbers and return its TOML text, for
engineers to save, edit and load like a hand-written file.

The operation: a command post at the site origin; ground backbone nodes (masts) on a grid;
UAV relays orbiting over the area; per team a [[team]] with its own address block, a gateway
near the team's centre and ONE [[node]] table of ``count`` handhelds moving as a group
around the gateway; positions and vitals of every handheld to command, one SOS per team,
an order from command to each team every ten minutes; no failures (a commented example).

The air links follow a channel plan (``cells.py``), as a real operation plans frequencies:
each mast and UAV serves a cell on its own ``air`` channel, each gateway joins the cell of
its nearest relay (at most ``CELL_GATEWAYS`` a cell while there are relays enough), and the
relays and the command post share one ``backbone`` air channel. One shared air channel for
every gateway and relay would let ~100 radios hear each other: O(N²) receptions for each
round of routing changes, and a storm of updates when they all meet at the start.

Rules: the same arguments give the same text (one ``random.Random(seed)``, drawn in a
fixed order, no other source of order); the node count is exactly
``1 + backbone + uavs + teams*(1 + responders)`` and is written at the top; the text
always passes ``parse_scenario``. ``render.py`` writes the text.
"""

from __future__ import annotations

import math
import random

from tacmesh.sim.scenario import render
from tacmesh.sim.scenario.cells import (
    BACKBONE_CHANNEL,
    CELL_INTERFACE,
    CellPlan,
    cell_channel,
    plan_cells,
)
from tacmesh.sim.scenario.directory import member_names
from tacmesh.sim.scenario.render import Header, TeamPlan, UavPlan

SITE = (31.05, 103.42)
"""Latitude, longitude of the generated site origin."""
FIRST_TEAM_ADDRESS = 0x1000
"""Team blocks start here; the addresses below are left for command, backbone and UAVs."""
LAST_UNICAST = 0xDFFF
ORDER_EVERY_S = 600.0


def generate_operation(
    teams: int,
    responders: int,
    *,
    seed: int = 1,
    area_m: float = 10_000,
    duration_s: float = 3600,
    uavs: int = 2,
    backbone: int | None = None,
    name: str | None = None,
) -> str:
    """The scenario text; ``area_m`` is the side of the square operation area around the
    origin; ``backbone`` defaults to one node per 10 teams, at least 2.

    Raises ``ValueError`` for counts out of range, or when the team address blocks do not
    fit in the unicast range (about 53,000 addresses)."""
    backbone = max(2, round(teams / 10)) if backbone is None else backbone
    if teams < 1 or responders < 1:
        raise ValueError(f"teams ({teams}) and responders ({responders}) must be at least 1")
    if uavs < 0 or backbone < 0:
        raise ValueError(f"uavs ({uavs}) and backbone ({backbone}) must not be negative")
    if not (area_m >= 1 and duration_s >= 1):
        raise ValueError(f"area_m ({area_m}) and duration_s ({duration_s}) must be at least 1")
    rng = random.Random(seed)
    title = name or f"Operation: {teams} teams of {responders}"
    width = max(2, len(str(backbone)))
    masts = {f"bb-{i + 1:0{width}d}": spot for i, spot in enumerate(grid(backbone, area_m))}
    flights = _uavs(rng, uavs, area_m)
    crew = _teams(rng, teams, responders, area_m, duration_s)
    cells = _plan_cells(masts, flights, crew)
    head = Header(title, seed, duration_s, teams, responders, backbone, uavs, SITE,
                  len(cells.relays), cells.capacity)  # fmt: skip
    parts = [render.header(head), render.command_post(_command_radios(cells))]
    parts += [
        render.backbone_node(mast, spot, [_MESH, *_relay_radios(mast, on_ground=True)])
        for mast, spot in masts.items()
    ]
    parts += [render.uav(plan, _relay_radios(plan.name)) for plan in flights]
    parts += [
        render.team(plan, responders, _uplink(cells.home[f"{plan.name}-gw"])) for plan in crew
    ]
    parts.append(render.flow("position", "role:handheld", "command", every_s=30))
    parts.append(render.flow("vitals", "role:handheld", "command", every_s=60))
    for plan in crew:
        parts.append(render.flow("sos", plan.sos_from, "command", at_s=plan.sos_at_s))
        parts.append(
            render.flow(
                "order",
                "cp",
                f"team:{plan.name}",
                every_s=ORDER_EVERY_S,
                start_s=plan.order_start_s,
            )
        )
    parts.append(render.failure_example(f"{crew[0].name}-gw", duration_s / 2))
    return "\n".join(parts)


_MESH = render.radio("wifi-mesh", BACKBONE_CHANNEL)
"""The command post's and masts' ground Wi-Fi mesh, kept from the hand-written examples."""


def _plan_cells(
    masts: dict[str, tuple[float, float]], flights: list[UavPlan], crew: list[TeamPlan]
) -> CellPlan:
    """Cells around the masts and UAVs (or, with neither, the command post), measured
    between the positions as the file writes them."""
    relays = {name: _written(spot) for name, spot in masts.items()}
    relays |= {plan.name: _written(plan.position) for plan in flights}
    gateways = {f"{plan.name}-gw": _written(plan.gateway) for plan in crew}
    return plan_cells(relays or {"cp": (0.0, 0.0)}, gateways)


def _written(spot: tuple[float, float]) -> tuple[float, float]:
    return (float(render.num(spot[0])), float(render.num(spot[1])))


def _relay_radios(relay: str, *, on_ground: bool = False) -> list[str]:
    """The backbone radio and the radio of the relay's own cell, the cell's hub. A ground
    station's backbone radio is a terminal aimed at the UAVs: masts kilometres apart do
    not hear each other on it (they did, at the edge of range, flapping)."""
    cell = render.radio("air", cell_channel(relay), CELL_INTERFACE, hub=True)
    return [render.radio("air", BACKBONE_CHANNEL, hub=False if on_ground else None), cell]


def _command_radios(cells: CellPlan) -> list[str]:
    """On the backbone; serving the only cell too when there is no relay."""
    own = _relay_radios("cp")
    return [_MESH, *(own if cells.relays == ("cp",) else own[:1])]


def _uplink(relay: str) -> str:
    return render.radio("air", cell_channel(relay))


def grid(count: int, area_m: float) -> list[tuple[float, float]]:
    """Centres of the first ``count`` cells of a near-square grid over the area."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    w, h = area_m / cols, area_m / rows
    cells = [(c, r) for r in range(rows) for c in range(cols)][:count]
    return [(-area_m / 2 + (c + 0.5) * w, -area_m / 2 + (r + 0.5) * h) for c, r in cells]


def block_size(teams: int, responders: int) -> tuple[int, int]:
    """(addresses per team, first team's base): room to double each team when that fits,
    else just the gateway and the responders."""
    tight = 1 << max(1, responders.bit_length())  # next power of two >= 1 + responders
    for size in (max(16, 2 * tight), tight):
        first = -(-FIRST_TEAM_ADDRESS // size) * size
        if size <= 1 << 15 and first + teams * size - 1 <= LAST_UNICAST:
            return size, first
    raise ValueError(f"{teams} teams of {responders} do not fit the unicast addresses")


def _uavs(rng: random.Random, count: int, area_m: float) -> list[UavPlan]:
    """Spread evenly on a circle half-way to the area's edge, at 600-1000 m."""
    turn = rng.uniform(0, 2 * math.pi)
    plans = []
    for i in range(count):
        angle = turn + 2 * math.pi * i / count
        spot = (area_m / 4 * math.cos(angle), area_m / 4 * math.sin(angle))
        altitude = round(rng.uniform(600, 1000), -1)
        plans.append(UavPlan(f"uav-{i + 1}", spot, altitude, max(300.0, area_m / 20)))
    return plans


def _teams(
    rng: random.Random, teams: int, responders: int, area_m: float, duration_s: float
) -> list[TeamPlan]:
    """One team per cell of a shuffled grid, jittered inside it, so teams spread over the
    whole area without piling up; orders to the teams are staggered over ten minutes."""
    size, first = block_size(teams, responders)
    length = 16 - (size.bit_length() - 1)
    cols = math.ceil(math.sqrt(teams))
    rows = math.ceil(teams / cols)
    w, h = area_m / cols, area_m / rows
    cells = [(c, r) for r in range(rows) for c in range(cols)]
    rng.shuffle(cells)
    width = max(2, len(str(teams)))
    radius = round(max(1.0, min(400.0, 0.3 * min(w, h))), 1)
    plans = []
    for i, (c, r) in enumerate(cells[:teams]):
        name = f"team-{i + 1:0{width}d}"
        x = round(-area_m / 2 + (c + rng.uniform(0.3, 0.7)) * w, 1)
        y = round(-area_m / 2 + (r + rng.uniform(0.3, 0.7)) * h, 1)
        plans.append(
            TeamPlan(
                name=name,
                prefix=(first + i * size, length),
                center=(x, y),
                radius_m=radius,
                gateway=(x + min(15.0, radius / 2), y),  # a mast beside the team's centre
                sos_from=rng.choice(member_names(f"{name}-hh", responders)),
                sos_at_s=round(rng.uniform(0.1, 0.9) * duration_s, 1),
                order_start_s=min(ORDER_EVERY_S, duration_s) * i / teams,
            )
        )
    return plans
