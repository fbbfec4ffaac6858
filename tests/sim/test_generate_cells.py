"""The air channel plan of generated operations (``sim/scenario/cells.py``): each gateway on
exactly one relay cell, its nearest relay's unless that cell is full; no cell above its
stated size; relays and command on one backbone; and command reaching every team, both on
the channel graph and in a short simulation.

These tests load against the real radio catalogue (reach is checked with the ``air``
profile), unlike ``test_generate.py``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tacmesh.sim.radio import load_profiles
from tacmesh.sim.run import apply_overrides
from tacmesh.sim.scenario import NodeSpec, Scenario, generate_operation, parse_scenario
from tacmesh.sim.scenario.cells import CELL_GATEWAYS, capacity, plan_cells
from tacmesh.sim.world import World

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "operation-1000.toml"
RELAYS = ("ground_backbone", "uav_relay")


def air(node: NodeSpec) -> list[str]:
    return [r.channel for r in node.radios if r.profile == "air"]


def spot(node: NodeSpec) -> tuple[float, float]:
    assert node.position is not None
    return node.position


def cells_of(scenario: Scenario) -> dict[str, NodeSpec]:
    """Cell channel -> the relay (or command post) that serves it, from the file alone."""
    served: dict[str, NodeSpec] = {}
    for node in scenario.nodes:
        for radio in node.radios:
            if radio.interface == "air-cell":
                assert radio.profile == "air" and radio.channel not in served
                served[radio.channel] = node
    return served


def stated_cell_size(text: str) -> int:
    found = re.search(r"^# air channels: .* at most (\d+) a cell\)$", text, re.M)
    assert found is not None and text.index(found.group(0)) < text.index("schema = 1")
    return int(found.group(1))


def check_plan(text: str) -> None:
    """The rule of ``cells.py``, checked on the file's own positions."""
    scenario = parse_scenario(text)
    served = cells_of(scenario)
    nodes = {n.name: n for n in scenario.nodes}
    relays = [n for n in scenario.nodes if n.role in RELAYS] or [nodes["cp"]]
    assert sorted(n.name for n in served.values()) == sorted(n.name for n in relays)
    room = stated_cell_size(text)
    assert room == capacity(len(scenario.teams), len(relays))
    members: dict[str, list[NodeSpec]] = defaultdict(list)
    for gw in (n for n in scenario.nodes if n.role == "gateway"):
        (channel,) = air(gw)  # exactly one backbone radio
        members[channel].append(gw)
    assert all(len(gws) <= room for gws in members.values())
    full = {served[c].name for c, gws in members.items() if len(gws) == room}
    for channel, gws in members.items():
        own = served[channel]
        for gw in gws:
            nearest = min(math.dist(spot(gw), spot(r)) for r in relays)
            closer = [r.name for r in relays if math.dist(spot(gw), spot(r)) < nearest + 1e-6]
            # its nearest relay's cell, or the nearest with room when that one is full
            if own.name not in closer:
                assert set(closer) <= full
                room_left = [r for r in relays if r.name not in full or r is own]
                best = min(math.dist(spot(gw), spot(r)) for r in room_left)
                assert math.dist(spot(gw), spot(own)) <= best + 1e-6


def reaches_every_gateway(scenario: Scenario) -> bool:
    """On the graph of shared (profile, channel) pairs, does the command post reach every
    gateway? ("team" channels stay inside a team and are left out.)"""
    on: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node in scenario.nodes:
        for r in node.radios:
            if r.channel != "team":
                on[(r.profile, r.channel)].append(node.name)
    seen, todo = {"cp"}, ["cp"]
    while todo:
        here = todo.pop()
        for names in on.values():
            if here in names:
                todo += [n for n in names if n not in seen]
                seen.update(names)
    return all(n.name in seen for n in scenario.nodes if n.role == "gateway")


def test_the_example_is_what_the_generator_writes() -> None:
    assert EXAMPLE.read_text() == generate_operation(90, 10)


def test_the_1000_node_operation_has_small_cells_of_nearest_relays() -> None:
    text = EXAMPLE.read_text()
    check_plan(text)
    scenario = parse_scenario(text)
    served = cells_of(scenario)
    assert len(served) == 9 + 2  # every mast and UAV serves a cell
    sizes = [
        sum(1 for n in scenario.nodes if n.role == "gateway" and air(n) == [c]) for c in served
    ]
    assert sum(sizes) == 90 and max(sizes) <= CELL_GATEWAYS and min(sizes) >= 1
    backbone = [n.name for n in scenario.nodes if "backbone" in air(n)]
    assert sorted(backbone) == sorted(
        ["cp"] + [n.name for n in scenario.nodes if n.role in RELAYS]
    )  # 12 radios on the backbone channel, and no gateway
    assert reaches_every_gateway(scenario)


def test_cells_and_backbone_are_within_radio_reach() -> None:
    """With the real ``air`` profile: each gateway hears its relay at the far side of the
    relay's orbit, and the backbone's good links join every relay to command."""
    profile = load_profiles([])["air"]
    scenario = parse_scenario(EXAMPLE.read_text())
    served = cells_of(scenario)

    def good(a: NodeSpec, b: NodeSpec, slack: float = 0.0) -> bool:
        d = math.dist(spot(a), spot(b)) + slack
        return profile.delivery_probability(d, a.altitude_m, b.altitude_m, 0.0) >= 0.9

    for gw in (n for n in scenario.nodes if n.role == "gateway"):
        relay = served[air(gw)[0]]
        assert good(gw, relay, slack=relay.mobility.radius_m if relay.role == "uav_relay" else 0)
    backbone = [n for n in scenario.nodes if "backbone" in air(n)]
    seen, todo = {"cp"}, ["cp"]
    while todo:
        name = todo.pop()
        here = next(n for n in backbone if n.name == name)
        for other in backbone:
            if other.name not in seen and good(here, other):
                seen.add(other.name)
                todo.append(other.name)
    assert seen == {n.name for n in backbone}


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(0, 4),
    st.one_of(st.none(), st.integers(0, 12)),
    st.integers(0, 2**16),
)
def test_any_operation_keeps_the_rule(
    teams: int, uavs: int, backbone: int | None, seed: int
) -> None:
    text = generate_operation(teams, 2, uavs=uavs, backbone=backbone, seed=seed)
    check_plan(text)
    assert reaches_every_gateway(parse_scenario(text))


def test_with_no_relay_the_command_post_serves_the_only_cell() -> None:
    text = generate_operation(3, 2, uavs=0, backbone=0)
    check_plan(text)
    scenario = parse_scenario(text)
    assert [n.name for n in cells_of(scenario).values()] == ["cp"]
    assert reaches_every_gateway(scenario)


def test_a_full_cell_passes_the_next_gateway_to_the_next_nearest_relay() -> None:
    gateways = {f"gw-{i:02d}": (float(i), 0.0) for i in range(CELL_GATEWAYS + 1)}
    plan = plan_cells({"near": (0.0, 0.0), "far": (500.0, 0.0)}, gateways)
    assert plan.capacity == CELL_GATEWAYS
    assert [g for g, r in plan.home.items() if r == "far"] == [f"gw-{CELL_GATEWAYS:02d}"]
    # too few relays for the planned size: cells grow so that everyone is seated
    crowd = {f"gw-{i:02d}": (0.0, float(i)) for i in range(30)}
    assert plan_cells({"only": (0.0, 0.0)}, crowd).capacity == 30
    with pytest.raises(ValueError, match="at least one relay"):
        plan_cells({}, gateways)


@pytest.mark.slow
def test_command_gets_the_vitals_of_every_team_of_a_small_operation() -> None:
    scenario = parse_scenario(generate_operation(3, 3, seed=2, duration_s=300))
    world = World(apply_overrides(scenario, {"traffic.vitals.stop_s": 200}))
    world.run()
    for team in ("team-01", "team-02", "team-03"):
        vitals = [m for m in world.ledger.messages.values() if (m.kind, m.team) == ("vitals", team)]
        owed = sum(m.expected for m in vitals)
        got = sum(m.expected - len(m.owed) for m in vitals)
        assert owed >= 3 * 3 and got >= 0.9 * owed, (team, got, owed)  # 3 handhelds, 0-200 s
