"""Reading one [[node]] table: name, role, radios, team, address, position, mobility, count.

Rules: a radio written as a plain string is ``RadioUse(profile=...)``; ``latlon`` becomes
metres on the site's plane (x = R·Δlon·cos lat0, y = R·Δlat); an ``address`` names one
node, so a ``count`` table takes none (the world numbers its nodes in the team's block);
defaults are the model's, never repeated here (fields left out are left to ``NodeSpec``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import cast

from tacmesh.sim.scenario.directory import Entry
from tacmesh.sim.scenario.fields import (
    EARTH_RADIUS_M,
    NODE_KEYS,
    RADIO_USE_KEYS,
    ROLES,
    UNICAST_FIRST,
    UNICAST_LAST,
    example,
)
from tacmesh.sim.scenario.mobility import read_mobility
from tacmesh.sim.scenario.model import NodeRole, NodeSpec, RadioUse, Site
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.reader import Table, present
from tacmesh.sim.scenario.words import Raw, show, where_of

MAX_COUNT = UNICAST_LAST - UNICAST_FIRST + 1
"""A ``count`` above this could never be addressed (and would be expanded into names first)."""


def read_node(
    raw: Raw, index: int, site: Site | None, problems: Problems
) -> tuple[Entry | None, NodeSpec | None]:
    """The node's names (for references, even if the rest is wrong) and the spec (None if
    anything in it is wrong)."""
    t = Table(raw, ("node", index), where_of("node", index, raw), problems)
    t.check_keys(NODE_KEYS)
    name = t.name("relay-2")
    role = t.choice("role", ROLES, required=True)
    team = t.text("team")
    count = t.integer("count", low=1, high=(MAX_COUNT, "more nodes than a mission has addresses"))
    radios = _radios(t)
    address = _address(t, count or 1)
    position = _position(t, site)
    altitude = t.number("altitude_m", low=0)
    mobility = read_mobility(t, altitude, team is not None)
    entry = None if name is None else Entry(name, index, t.line, count or 1, role, team)
    if not t.ok or name is None or role is None or radios is None:
        return entry, None
    spec = NodeSpec(name=name, role=cast(NodeRole, role), radios=radios, line=t.line)
    given = {
        "team": team,
        "address": address,
        "position": position,
        "altitude_m": altitude,
        "mobility": mobility,
        "count": count,
    }
    return entry, replace(spec, **present(given))


def _radios(t: Table) -> tuple[RadioUse, ...] | None:
    value = t.raw.get("radios")
    if value is None:
        t.missing("radios")
        return None
    if isinstance(value, str):  # radios = "air": the one radio, by profile name
        radio = _radio(t, 0, value)
        return None if radio is None else (radio,)
    if not isinstance(value, list) or not value:
        t.mistyped("radios", value, "a non-empty array", f"write {example('radios')}")
        return None
    found = [_radio(t, i, item) for i, item in enumerate(value)]
    clean = [radio for radio in found if radio is not None]
    return tuple(clean) if len(clean) == len(found) else None


def _radio(t: Table, i: int, item: object) -> RadioUse | None:
    if isinstance(item, str) and item.strip():
        return RadioUse(profile=item)
    if not isinstance(item, dict):
        t.mistyped(("radios", i), item, "a profile name or a table", f"write {example('radios')}")
        return None
    r = t.child(("radios", i), item)
    r.check_keys(RADIO_USE_KEYS)
    profile = r.text("profile", required=True)
    channel = r.text("channel")
    interface = r.text("interface")
    hub = r.flag("hub")
    if profile is None or not r.ok:
        return None
    radio = RadioUse(profile=profile, interface=interface, hub=hub)
    return radio if channel is None else replace(radio, channel=channel)


def _address(t: Table, count: int) -> int | None:
    value = t.raw.get("address")
    if value is None:
        return None
    address: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        address = value
    elif isinstance(value, str):
        try:
            address = int(value, 0)
        except ValueError:
            address = None
    if address is None:
        t.mistyped("address", value, "an address", f"write {example('address')}")
        return None
    if count > 1:  # the world numbers a count table's nodes inside the team's block
        t.problem(
            "address",
            f"address names one node but count = {count}",
            "leave address out (members get addresses in their team's block), or give each"
            " node its own table",
        )
        return None
    if not UNICAST_FIRST <= address <= UNICAST_LAST:
        t.problem(
            "address",
            f"address 0x{address:04x} is outside the unicast range",
            f"use 0x{UNICAST_FIRST:04x}..0x{UNICAST_LAST:04x}",
        )
        return None
    return address


def _position(t: Table, site: Site | None) -> tuple[float, float] | None:
    if t.has("position") and t.has("latlon"):
        t.problem("latlon", "both position and latlon are given", "keep one of them")
        return None
    if t.has("position"):
        return t.point("position")
    if not t.has("latlon"):
        return None
    value = t.raw["latlon"]
    latlon = t.point_at(("latlon",), value)
    if latlon is None:
        return None
    lat, lon = latlon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        t.problem(
            "latlon", f"latlon = {show(value)} is not on Earth", "write [lat, lon] in degrees"
        )
        return None
    if site is None:  # the site's own problem is reported; nothing to convert against
        return None
    return to_local(site, lat, lon)


def to_local(site: Site, lat: float, lon: float) -> tuple[float, float]:
    """Metres east and north of the site origin (equirectangular: exact enough for the
    few kilometres of one operation)."""
    x = EARTH_RADIUS_M * math.radians(lon - site.lon) * math.cos(math.radians(site.lat))
    y = EARTH_RADIUS_M * math.radians(lat - site.lat)
    return (x, y)
