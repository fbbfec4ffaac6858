"""A scenario as the simulator reads it: plain, validated data (schema 1).

``load.py`` builds these from a TOML file and checks every value, naming the file, line
and fix of anything wrong; ``generate.py`` builds large ones from a few numbers. The world
(``world.py``) turns them into engines, radios and events. Distances are metres on a local
plane around the site origin (x east, y north); times are seconds from the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SCHEMA_VERSION = 1

NodeRole = Literal[
    "handheld", "team_relay", "gateway", "ground_backbone", "uav_relay", "command_post", "sensor"
]
TrafficKind = Literal["position", "status", "vitals", "sos", "order", "text", "bulk"]
FailureKind = Literal[
    "node_death",
    "node_restart",
    "link_cut",
    "jamming",
    "partition",
    "uav_departure",
    "uav_crash",
    "gateway_loss",
]


@dataclass(frozen=True, slots=True)
class Site:
    lat: float
    lon: float
    """Origin of the local plane (where x = y = 0)."""


@dataclass(frozen=True, slots=True)
class Mobility:
    """How a node moves; which fields matter depends on ``model`` (see ``sim/mobility.py``)."""

    model: Literal["static", "waypoints", "random_waypoint", "group", "orbit", "sortie"] = "static"
    speed_mps: float = 1.2
    waypoints: tuple[tuple[float, float], ...] = ()
    """waypoints: visited in order (then held); sortie: the loiter point is the first."""
    area: tuple[float, float, float, float] | None = None
    """random_waypoint: (x_min, y_min, x_max, y_max); None = the team's area."""
    pause_s: float = 30.0
    radius_m: float = 300.0
    """group: spread of members around the leader; orbit/sortie: loiter circle radius."""
    altitude_m: float = 0.0
    endurance_s: float | None = None
    """sortie: flight time from take-off until the UAV must be back at base."""
    takeoff_s: float = 0.0
    """sortie: when the UAV leaves the ground (a relief waits at base until then)."""
    base: tuple[float, float] | None = None
    """sortie: where the UAV takes off and returns to."""
    leader: str | None = None
    """group: the node the members move around (default: the team's first node)."""


@dataclass(frozen=True, slots=True)
class RadioUse:
    """One radio a node carries."""

    profile: str
    """Name of a radio profile (built-in or from the scenario's [[radio]] tables)."""
    channel: str = "default"
    """Nodes hear each other only on the same profile and channel (e.g. a team's LoRa
    frequency); ``"team"`` means the node's team name."""
    interface: str | None = None
    """Interface name inside the engine; default ``<profile>`` (``<profile>-2`` on clash)."""
    hub: bool | None = None
    """On a point-to-multipoint profile: whether this radio is a hub (heard by every radio
    of the channel) or a terminal (heard by hubs only). Default: hub on relays
    (``uav_relay``, ``ground_backbone``), terminal elsewhere. A mast's radio toward the
    UAVs is a terminal (``hub = false``) aimed at them like a gateway's."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node, or ``count`` alike ones named ``<name>-01`` ... (handhelds of a team)."""

    name: str
    role: NodeRole
    radios: tuple[RadioUse, ...]
    team: str | None = None
    address: int | None = None
    """16-bit address; None = assigned (team members inside the team's prefix)."""
    position: tuple[float, float] | None = None
    """Start position; None = random inside the team's area (or the site origin)."""
    altitude_m: float = 1.5
    mobility: Mobility = field(default_factory=Mobility)
    count: int = 1
    line: int = 0
    """Line in the scenario file where this node is defined (for messages)."""


@dataclass(frozen=True, slots=True)
class TeamSpec:
    name: str
    prefix: tuple[int, int] | None = None
    """(base, length) of the team's address block; None = assigned."""
    center: tuple[float, float] = (0.0, 0.0)
    radius_m: float = 300.0
    """Members start at random within this circle."""
    line: int = 0


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    kind: TrafficKind
    sources: str
    """A node name, ``team:<name>``, ``role:<role>`` or ``all``."""
    to: str = "command"
    """``command`` (the command post), ``team`` (the source's own team group),
    ``all`` (all hands), a node name, ``team:<name>`` or ``role:<role>``."""
    every_s: float | None = None
    """Period; None with ``at_s`` = once."""
    at_s: float | None = None
    start_s: float = 0.0
    stop_s: float | None = None
    size_bytes: int = 0
    """text: characters; bulk: bytes of the photo or file."""
    line: int = 0


@dataclass(frozen=True, slots=True)
class FailureSpec:
    kind: FailureKind
    at_s: float | None = None
    """Fixed time; None with ``rate_per_h`` = random times (Poisson)."""
    target: str | None = None
    """A node name (``node_death``, ``node_restart``, ``uav_*``, ``gateway_loss``),
    a team name (``partition``), or ``role:<role>`` / ``team:<name>`` for random picks."""
    between: tuple[str, str] | None = None
    """link_cut: the two nodes."""
    silent: bool = True
    """node_death: True = no link-down signal to anyone (a crushed relay)."""
    duration_s: float | None = None
    """How long it lasts (restart downtime, cut, jamming, partition); None = for good."""
    notice_s: float = 60.0
    """uav_departure: how long before leaving the UAV announces it."""
    center: tuple[float, float] | None = None
    radius_m: float = 500.0
    """jamming: the area where receivers on ``profile`` hear nothing."""
    profile: str | None = None
    rate_per_h: float | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int
    duration_s: float
    site: Site
    nodes: tuple[NodeSpec, ...]
    teams: tuple[TeamSpec, ...] = ()
    traffic: tuple[TrafficSpec, ...] = ()
    failures: tuple[FailureSpec, ...] = ()
    radios: tuple[dict[str, object], ...] = ()
    """Extra or changed radio profiles, as tables for ``sim/radio`` (``base`` + fields)."""
    topology_interval_s: float = 5.0
    """How often positions are sampled and link qualities recomputed."""
    metrics_bin_s: float = 60.0
    """Width of one step of the CSV time series."""
    source: str = "<memory>"
    """The file it came from (for messages)."""
