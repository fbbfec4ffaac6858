"""The field tables of scenario schema 1: which keys each table takes, the enumerations,
which keys apply to which kind, and an example value per key for the fixes we suggest.

Rules: the enumerations come from ``model.py`` (the contract), never retyped here, so a
new role or kind needs one edit; every key a reader accepts is listed here, so the
unknown-key check and SCHEMA.md have one source.
"""

from __future__ import annotations

import re
from typing import get_args, get_type_hints

from tacmesh.sim.scenario.model import FailureKind, Mobility, NodeRole, TrafficKind

ROLES: tuple[str, ...] = get_args(NodeRole)
TRAFFIC_KINDS: tuple[str, ...] = get_args(TrafficKind)
FAILURE_KINDS: tuple[str, ...] = get_args(FailureKind)
MOBILITY_MODELS: tuple[str, ...] = get_args(get_type_hints(Mobility)["model"])

TOP_KEYS = (
    "schema",
    "name",
    "seed",
    "duration_s",
    "topology_interval_s",
    "metrics_bin_s",
    "site",
    "radio",
    "team",
    "node",
    "traffic",
    "failure",
)
SITE_KEYS = ("lat", "lon")
TEAM_KEYS = ("name", "prefix", "center", "radius_m")
NODE_KEYS = (
    "name",
    "role",
    "radios",
    "team",
    "address",
    "position",
    "latlon",
    "altitude_m",
    "mobility",
    "count",
)
RADIO_USE_KEYS = ("profile", "channel", "interface", "hub")
MOBILITY_KEYS = (
    "model",
    "speed_mps",
    "waypoints",
    "area",
    "pause_s",
    "radius_m",
    "altitude_m",
    "endurance_s",
    "takeoff_s",
    "base",
    "leader",
)
TRAFFIC_KEYS = ("kind", "from", "to", "every_s", "at_s", "start_s", "stop_s", "size_bytes")
FAILURE_KEYS = (
    "kind",
    "target",
    "at_s",
    "rate_per_h",
    "silent",
    "between",
    "duration_s",
    "notice_s",
    "center",
    "radius_m",
    "profile",
)

# Model-specific mobility keys and the models they mean something to; the others
# (speed_mps, pause_s, altitude_m) apply to every model.
MOBILITY_APPLIES: dict[str, tuple[str, ...]] = {
    "waypoints": ("waypoints", "orbit", "sortie"),
    "area": ("random_waypoint",),
    "leader": ("group",),
    "radius_m": ("group", "orbit", "sortie"),
    "endurance_s": ("sortie",),
    "takeoff_s": ("sortie",),
    "base": ("sortie",),
}

# Keys of a [[failure]] beyond "kind" that each kind reads; a key outside its kind's set
# is a mistake (the simulator would silently ignore it).
FAILURE_APPLIES: dict[str, tuple[str, ...]] = {
    "node_death": ("target", "at_s", "rate_per_h", "silent"),
    "node_restart": ("target", "at_s", "rate_per_h", "silent", "duration_s"),
    "link_cut": ("between", "at_s", "rate_per_h", "duration_s"),
    "jamming": ("center", "radius_m", "profile", "at_s", "rate_per_h", "duration_s"),
    "partition": ("target", "at_s", "rate_per_h", "duration_s"),
    "uav_departure": ("target", "at_s", "rate_per_h", "notice_s"),
    "uav_crash": ("target", "at_s", "rate_per_h"),
    "gateway_loss": ("target", "at_s", "rate_per_h", "duration_s", "silent"),
}

# Which role a failure's node target must have (others take any node).
FAILURE_TARGET_ROLE: dict[str, str] = {
    "uav_departure": "uav_relay",
    "uav_crash": "uav_relay",
    "gateway_loss": "gateway",
}

EXAMPLES: dict[str, str] = {
    "schema": "1",
    "name": '"Earthquake valley"',
    "seed": "7",
    "duration_s": "3600",
    "topology_interval_s": "5",
    "metrics_bin_s": "60",
    "lat": "31.05",
    "lon": "103.42",
    "prefix": '"0x1000/8"',
    "center": "[1200, -400]",
    "radius_m": "400",
    "role": '"handheld"',
    "radios": '[{ profile = "lora", channel = "team" }]',
    "team": '"fire-1"',
    "address": '"0x1001"',
    "position": "[0, 0]",
    "latlon": "[31.05, 103.42]",
    "altitude_m": "2",
    "count": "10",
    "profile": '"lora"',
    "channel": '"team"',
    "interface": '"lora0"',
    "model": '"group"',
    "speed_mps": "1.2",
    "waypoints": "[[1500, 500]]",
    "area": "[-500, -500, 500, 500]",
    "pause_s": "30",
    "endurance_s": "2400",
    "takeoff_s": "1200",
    "base": "[-2000, 0]",
    "leader": '"fire-1-gw"',
    "kind": '"position"',
    "from": '"role:handheld"',
    "to": '"command"',
    "every_s": "30",
    "at_s": "1800",
    "start_s": "0",
    "stop_s": "3000",
    "size_bytes": "2000",
    "target": '"relay-2"',
    "rate_per_h": "0.5",
    "silent": "true",
    "between": '["relay-1", "relay-2"]',
    "notice_s": "60",
}

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
"""Node and team names: they appear in reports, CSV columns and file names."""
RESERVED_NAMES = ("all", "command", "team")
"""Words that traffic ``to`` reads as keywords, so no node or team may be called so."""

UNICAST_FIRST, UNICAST_LAST = 0x0001, 0xDFFF
EARTH_RADIUS_M = 6_371_008.8


def example(key: str, sample: str | None = None) -> str:
    """``key = <example>`` (``sample`` if given), for the fix part of a message."""
    return f"{key} = {sample or EXAMPLES.get(key, '...')}"
