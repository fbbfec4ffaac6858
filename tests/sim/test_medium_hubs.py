"""The UAV data link is point to multipoint: relays are hubs, everyone else a terminal
aimed at one, and two terminals never hear each other however close (sim/medium.py)."""

from __future__ import annotations

import pytest

from tacmesh.sim.report.summary import unserved_line
from tacmesh.sim.run import run_scenario
from tacmesh.sim.scenario import ScenarioError, parse_scenario
from tacmesh.sim.world import World

# Every pair is within a few hundred metres: only the hub rule can keep a pair apart.
SCENARIO = """
schema = 1
name = "Hubs"
seed = 3
duration_s = 10

[site]
lat = 31.0
lon = 103.0

[[radio]]
name = "mesh-air"
base = "air"
point_to_multipoint = false

[[node]]
name = "cp"
role = "command_post"
radios = ["{profile}"]
position = [0, 0]
altitude_m = 3

[[node]]
name = "gw-a"
role = "gateway"
radios = ["{profile}"]
position = [300, 0]
altitude_m = 3

[[node]]
name = "gw-b"
role = "gateway"
radios = ["{profile}"]
position = [300, 200]
altitude_m = 3

[[node]]
name = "mast"
role = "ground_backbone"
radios = ["{profile}"]
position = [150, 100]
altitude_m = 6

[[node]]
name = "uav"
role = "uav_relay"
radios = ["{profile}"]
position = [150, -100]
altitude_m = 500
"""


def linked(profile: str) -> set[frozenset[str]]:
    world = World(parse_scenario(SCENARIO.format(profile=profile)))
    return {frozenset((a.node.name, b.node.name)) for a, b, _ in world.medium.links_up()}


def pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def test_terminals_hear_relays_and_relays_each_other_but_terminals_not_each_other() -> None:
    links = linked("air")
    for terminal in ("cp", "gw-a", "gw-b"):
        assert pair(terminal, "uav") in links
        assert pair(terminal, "mast") in links
    assert pair("mast", "uav") in links
    for a, b in (("cp", "gw-a"), ("cp", "gw-b"), ("gw-a", "gw-b")):
        assert pair(a, b) not in links


@pytest.mark.parametrize("a, b", [("cp", "gw-a"), ("cp", "gw-b"), ("gw-a", "gw-b")])
def test_without_the_rule_the_same_terminals_do_link(a: str, b: str) -> None:
    assert pair(a, b) in linked("mesh-air")


def test_a_run_names_radios_no_relay_serves_and_says_what_to_do() -> None:
    # The hub-less half of the scenario: cp and two gateways on air, nobody to aim at.
    text = SCENARIO.format(profile="air").split('[[node]]\nname = "mast"')[0]
    results = run_scenario(parse_scenario(text))
    assert results["unserved_radios"] == ["cp (air on default)", "gw-a (air on default)",
                                          "gw-b (air on default)"]  # fmt: skip
    assert results["run"]["frames_received"] == 0
    assert "add a relay on that channel" in unserved_line(results["unserved_radios"])
    assert run_scenario(parse_scenario(SCENARIO.format(profile="air")))["unserved_radios"] == []


def test_a_radio_can_be_made_a_terminal_or_a_hub_against_its_role() -> None:
    text = SCENARIO.format(profile="air")
    text = text.replace(
        'role = "ground_backbone"\nradios = ["air"]',
        'role = "ground_backbone"\nradios = [{ profile = "air", hub = false }]',
    )
    cp = 'name = "cp"\nrole = "command_post"\nradios = '
    text = text.replace(cp + '["air"]', cp + '[{ profile = "air", hub = true }]')
    world = World(parse_scenario(text))
    links = {frozenset((a.node.name, b.node.name)) for a, b, _ in world.medium.links_up()}
    assert pair("mast", "gw-a") not in links  # two terminals now
    assert pair("mast", "uav") in links and pair("mast", "cp") in links  # cp is a hub
    assert pair("cp", "gw-a") in links and pair("cp", "gw-b") in links


def test_hub_must_be_true_or_false() -> None:
    text = SCENARIO.format(profile="air").replace(
        'role = "uav_relay"\nradios = ["air"]',
        'role = "uav_relay"\nradios = [{ profile = "air", hub = "yes" }]',
    )
    with pytest.raises(ScenarioError, match="hub = true or hub = false"):
        parse_scenario(text)
