"""From a scenario to simulated nodes: names, addresses, engines, radios and tracks.

Rules kept here: ``count`` nodes expand to ``<name>-01``...; team members get addresses
inside their team's block (first team ``0x1000/8``, then ``0x1100/8``...), other nodes
``0x0001`` upward; a gateway serves its team's block and its radios on the team channel
face the team's sub-net (SPEC.md §8.2.5); every node belongs to its team's and its role's
groups. Everything is drawn from the scenario's seed, in file order, so a scenario builds
the same way every time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

from tacmesh.protocol.addresses import Prefix, Role, role_group, team_group
from tacmesh.protocol.engine.config import InterfaceConfig, NodeConfig
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.sim.mission import SimMission
from tacmesh.sim.mobility import Track, make_track
from tacmesh.sim.radio import RadioProfile, load_profiles
from tacmesh.sim.scenario.model import NodeSpec, RadioUse, Scenario, TeamSpec

HUB_ROLES = frozenset({"uav_relay", "ground_backbone"})
"""Relays: by default the hubs of a point-to-multipoint radio (the UAV data link)."""
FIRST_TEAM_BLOCK = 0x10
"""Team n's block is ``(0x10 + n) << 8`` / 8 unless the scenario gives one."""


@dataclass(slots=True)
class Radio:
    """One radio of one node: its engine interface and the channel it shares."""

    interface: InterfaceConfig
    profile: RadioProfile
    channel: tuple[str, str]
    """(profile, channel): only radios on the same pair hear each other."""
    hub: bool = False
    """On a point-to-multipoint profile, heard by every radio of the channel; terminals
    (False) hear hubs only (RadioUse.hub; by default the relays, ``HUB_ROLES``)."""


@dataclass(slots=True)
class SimNode:
    index: int
    name: str
    address: int
    role: Role
    team: str | None
    spec: NodeSpec
    radios: dict[str, Radio]
    config: NodeConfig
    engine: NodeEngine
    track: Track
    alive: bool = True
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    timer_at: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Built:
    nodes: list[SimNode]
    by_name: dict[str, SimNode]
    by_address: dict[int, SimNode]
    teams: dict[str, tuple[int, Prefix]]
    """Team name -> (team number, address block)."""
    profiles: dict[str, RadioProfile]
    mission: SimMission


def expand(spec: NodeSpec) -> list[str]:
    if spec.count == 1:
        return [spec.name]
    width = max(2, len(str(spec.count)))
    return [f"{spec.name}-{i:0{width}d}" for i in range(1, spec.count + 1)]


def team_blocks(scenario: Scenario) -> dict[str, tuple[int, Prefix]]:
    """Each team's number and block: its own, or the next /8 that no team has claimed."""
    claimed = [Prefix(*t.prefix) for t in scenario.teams if t.prefix is not None]
    blocks, candidate = {}, FIRST_TEAM_BLOCK
    for number, team in enumerate(scenario.teams):
        if team.prefix is not None:
            prefix = Prefix(*team.prefix)
        else:
            while _overlaps(Prefix(candidate << 8, 8), claimed):
                candidate += 1
            prefix = Prefix(candidate << 8, 8)
            claimed.append(prefix)
        blocks[team.name] = (number, prefix)
    return blocks


def _overlaps(p: Prefix, others: list[Prefix]) -> bool:
    return any(p.covers(o) or o.covers(p) for o in others)


def build(scenario: Scenario, start_epoch: float) -> Built:
    rng = random.Random(scenario.seed)
    mission = SimMission(scenario.seed, start_epoch)
    profiles = load_profiles(scenario.radios)
    blocks = team_blocks(scenario)
    teams = {t.name: t for t in scenario.teams}
    area = _area(scenario)
    nodes: list[SimNode] = []
    specs = [(name, spec) for spec in scenario.nodes for name in expand(spec)]
    taken = {s.address for s in scenario.nodes if s.address is not None and s.count == 1}
    for name, spec in specs:
        if spec.address is not None and spec.count == 1:
            address = spec.address
        else:
            first = blocks[spec.team][1].base + 1 if spec.team is not None else 1
            address = _free(first, taken)
            taken.add(address)
        role = Role[spec.role.upper()]
        radios = _radios(spec, profiles)
        team_no = blocks[spec.team][0] if spec.team else None
        prefixes = (blocks[spec.team][1],) if role is Role.GATEWAY and spec.team else ()
        groups = {role_group(role)} | ({team_group(team_no)} if team_no is not None else set())
        config = NodeConfig(
            address,
            tuple(r.interface for r in radios.values()),
            prefixes=prefixes,
            groups=frozenset(groups),
        )
        engine = NodeEngine(config, mission.enrol(address, role), random.Random(rng.random()),
                            start_epoch)  # fmt: skip
        start = _start(spec, teams.get(spec.team or ""), rng)
        nodes.append(SimNode(len(nodes), name, address, role, spec.team, spec, radios, config,
                             engine, _Pending(start)))  # fmt: skip
    by_name = {n.name: n for n in nodes}
    _tracks(nodes, by_name, scenario, area, rng)
    return Built(nodes, by_name, {n.address: n for n in nodes}, blocks, profiles, mission)


def _free(first: int, taken: set[int]) -> int:
    """The first address from ``first`` up that no node holds (explicit ones included)."""
    address = first
    while address in taken:
        address += 1
    return address


def _radios(spec: NodeSpec, profiles: dict[str, RadioProfile]) -> dict[str, Radio]:
    radios: dict[str, Radio] = {}
    for use in spec.radios:
        profile = profiles[use.profile]
        name = _iface_name(use, radios)
        channel = spec.team if use.channel == "team" and spec.team else use.channel
        subnet = spec.role == "gateway" and use.channel == "team"
        iface = replace(profile.interface_config(name), subnet=subnet)
        hub = spec.role in HUB_ROLES if use.hub is None else use.hub
        radios[name] = Radio(iface, profile, (profile.name, channel), hub)
    return radios


def _iface_name(use: RadioUse, taken: dict[str, Radio]) -> str:
    if use.interface:
        return use.interface
    name, n = use.profile, 1
    while name in taken:
        n += 1
        name = f"{use.profile}-{n}"
    return name


@dataclass(slots=True)
class _Pending:
    """A start point, until the real track is made (leaders first)."""

    start: tuple[float, float]

    def position(self, t: float) -> tuple[float, float, float]:
        return (*self.start, 0.0)


def _start(spec: NodeSpec, team: TeamSpec | None, rng: random.Random) -> tuple[float, float]:
    if spec.position is not None:
        return spec.position
    if team is None:
        return (0.0, 0.0)
    r, a = team.radius_m * math.sqrt(rng.random()), 2 * math.pi * rng.random()
    return (team.center[0] + r * math.cos(a), team.center[1] + r * math.sin(a))


def _area(scenario: Scenario) -> tuple[float, float, float, float]:
    """Where random walkers without an area of their own may go: around every start."""
    xs = [t.center[0] for t in scenario.teams] + [
        n.position[0] for n in scenario.nodes if n.position
    ]
    ys = [t.center[1] for t in scenario.teams] + [
        n.position[1] for n in scenario.nodes if n.position
    ]
    if not xs:
        return (-1000.0, -1000.0, 1000.0, 1000.0)
    return (min(xs) - 500, min(ys) - 500, max(xs) + 500, max(ys) + 500)


def _tracks(
    nodes: list[SimNode],
    by_name: dict[str, SimNode],
    scenario: Scenario,
    area: tuple[float, float, float, float],
    rng: random.Random,
) -> None:
    first_of_team: dict[str, SimNode] = {}
    for n in nodes:
        if n.team is not None:
            first_of_team.setdefault(n.team, n)
    done: set[int] = set()

    def make(n: SimNode, depth: int = 0) -> Track:
        if n.index in done:
            return n.track
        leader = None
        m = n.spec.mobility
        if m.model == "group":
            head = by_name.get(m.leader) if m.leader else first_of_team.get(n.team or "")
            if head is not None and head is not n and depth < 8:
                leader = make(head, depth + 1)
        team_area = _team_area(scenario, n.team) or area
        assert isinstance(n.track, _Pending)
        n.track = make_track(
            m,
            start=n.track.start,
            altitude_m=n.spec.altitude_m,
            rng=random.Random(rng.random()),
            default_area=m.area or team_area,
            leader=leader,
            duration_s=scenario.duration_s,
        )
        done.add(n.index)
        return n.track

    for n in nodes:
        make(n)
        n.position = n.track.position(0.0)


def _team_area(scenario: Scenario, team: str | None) -> tuple[float, float, float, float] | None:
    for t in scenario.teams:
        if t.name == team:
            (x, y), r = t.center, t.radius_m
            return (x - r, y - r, x + r, y + r)
    return None
