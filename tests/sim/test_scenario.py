"""The scenario loader: a full file to exact dataclasses, every class of mistake reported
on its line with its fix (all at once, sorted), and round trips of random valid files.

Radio profile names are checked against a stand-in ``tacmesh.sim.radio`` (lora, air,
wifi-mesh) so these tests do not move with the radio module's catalogue; one test runs
the SCHEMA.md example against the real one.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import random
import re
import sys
import tomllib
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim.scenario import (
    FailureSpec,
    Mobility,
    NodeSpec,
    RadioUse,
    Scenario,
    ScenarioError,
    Site,
    TeamSpec,
    TrafficSpec,
    load_scenario,
    member_names,
    parse_scenario,
)
from tacmesh.sim.scenario.locate import LineMap

REAL_RADIO = importlib.import_module("tacmesh.sim.radio")
"""The real module, put back for the tests that run against it (the others use a stand-in)."""

R = 6_371_008.8


def fake_load_profiles(extra: list[Mapping[str, object]]) -> dict[str, object]:
    profiles: dict[str, object] = {"lora": {}, "air": {}, "wifi-mesh": {}}
    for table in extra:
        if table.get("base") == "broken":
            raise ValueError(f'radio "{table["name"]}": unknown base "broken"; use base = "lora"')
        profiles[str(table["name"])] = table
    return profiles


@pytest.fixture(autouse=True)
def stand_in_radio(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("tacmesh.sim.radio")
    fake.load_profiles = fake_load_profiles  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tacmesh.sim.radio", fake)


FULL = """\
schema = 1                      # required
name = "Earthquake valley"
seed = 7
duration_s = 3600
topology_interval_s = 5
metrics_bin_s = 30

[site]
lat = 31.05
lon = 103.42

[[radio]]
name = "lora-sf9"
base = "lora"
spreading_factor = 9

[[team]]
name = "fire-1"
prefix = "0x1000/8"
center = [1200, -400]
radius_m = 400

[[node]]
name = "cp"
role = "command_post"
radios = [ { profile = "wifi-mesh", channel = "backbone" }, "air" ]
position = [0, 0]
altitude_m = 2
address = 1

[[node]]
name = "fire-1-hh"
role = "handheld"
team = "fire-1"
count = 10
radios = [ { profile = "lora-sf9", channel = "team", interface = "lora0" } ]
mobility = { model = "group", radius_m = 150 }

[[node]]
name = "uav-1"
role = "uav_relay"
radios = ["air"]
altitude_m = 800
mobility.model = "sortie"
mobility.base = [-2000, 0]
mobility.waypoints = [[1500, 500]]
mobility.radius_m = 600
mobility.speed_mps = 22
mobility.endurance_s = 2400

[[node]]
name = "relay-2"
role = "team_relay"
latlon = [31.06, 103.43]
radios = "lora"

[node.mobility]
model = "waypoints"
waypoints = [
  [10, 20],
  [30.5, -40],
]
pause_s = 0

[[traffic]]
kind = "position"
from = "role:handheld"
to = "command"
every_s = 30

[[traffic]]
kind = "bulk"
from = "fire-1-hh-02"
to = "team:fire-1"
at_s = 600
size_bytes = 40000

[[failure]]
kind = "node_death"
target = "relay-2"
at_s = 1800
silent = false

[[failure]]
kind = "jamming"
center = [100, 200]
radius_m = 250
profile = "lora-sf9"
rate_per_h = 0.5
duration_s = 60
"""


def test_full_file_gives_the_exact_dataclasses() -> None:
    relay_x = R * math.radians(103.43 - 103.42) * math.cos(math.radians(31.05))
    relay_y = R * math.radians(31.06 - 31.05)
    expected = Scenario(
        name="Earthquake valley",
        seed=7,
        duration_s=3600.0,
        site=Site(31.05, 103.42),
        nodes=(
            NodeSpec(
                name="cp",
                role="command_post",
                radios=(RadioUse("wifi-mesh", "backbone"), RadioUse("air")),
                position=(0.0, 0.0),
                altitude_m=2.0,
                address=1,
                line=23,
            ),
            NodeSpec(
                name="fire-1-hh",
                role="handheld",
                radios=(RadioUse("lora-sf9", "team", "lora0"),),
                team="fire-1",
                mobility=Mobility(model="group", radius_m=150.0),
                count=10,
                line=31,
            ),
            NodeSpec(
                name="uav-1",
                role="uav_relay",
                radios=(RadioUse("air"),),
                altitude_m=800.0,
                mobility=Mobility(
                    model="sortie",
                    base=(-2000.0, 0.0),
                    waypoints=((1500.0, 500.0),),
                    radius_m=600.0,
                    speed_mps=22.0,
                    endurance_s=2400.0,
                    altitude_m=800.0,  # taken from the node: the sortie gave none
                ),
                line=39,
            ),
            NodeSpec(
                name="relay-2",
                role="team_relay",
                radios=(RadioUse("lora"),),
                position=(relay_x, relay_y),
                mobility=Mobility(
                    model="waypoints", waypoints=((10.0, 20.0), (30.5, -40.0)), pause_s=0.0
                ),
                line=51,
            ),
        ),
        teams=(TeamSpec("fire-1", (0x1000, 8), (1200.0, -400.0), 400.0, line=17),),
        traffic=(
            TrafficSpec("position", "role:handheld", "command", every_s=30.0, line=65),
            TrafficSpec(
                "bulk", "fire-1-hh-02", "team:fire-1", at_s=600.0, size_bytes=40000, line=71
            ),
        ),
        failures=(
            FailureSpec("node_death", at_s=1800.0, target="relay-2", silent=False, line=78),
            FailureSpec(
                "jamming",
                center=(100.0, 200.0),
                radius_m=250.0,
                profile="lora-sf9",
                rate_per_h=0.5,
                duration_s=60.0,
                line=84,
            ),
        ),
        radios=({"name": "lora-sf9", "base": "lora", "spreading_factor": 9},),
        topology_interval_s=5.0,
        metrics_bin_s=30.0,
        source="valley.toml",
    )
    got = parse_scenario(FULL, "valley.toml")
    assert got.nodes[3].position == pytest.approx((952.63, 1111.95), abs=0.01)
    assert got == expected
    lines = FULL.splitlines()
    recorded = [n.line for n in got.nodes] + [t.line for t in got.teams]
    recorded += [f.line for f in got.traffic] + [f.line for f in got.failures]
    assert all(lines[line - 1].startswith("[[") for line in recorded)


def test_defaults_are_the_models() -> None:
    text = FULL.split("[[traffic]]", maxsplit=1)[0]
    got = parse_scenario(text.replace("topology_interval_s = 5\nmetrics_bin_s = 30\n", ""))
    defaults = {f.name: f.default for f in dataclasses.fields(Scenario)}
    assert got.topology_interval_s == defaults["topology_interval_s"]
    assert got.metrics_bin_s == defaults["metrics_bin_s"]
    assert got.traffic == () and got.failures == () and got.source == "<memory>"


def test_load_scenario_reads_the_file_and_names_it(tmp_path: Path) -> None:
    good = tmp_path / "valley.toml"
    good.write_text(FULL, encoding="utf-8")
    assert load_scenario(good) == parse_scenario(FULL, str(good))
    bad = tmp_path / "bad.toml"
    bad.write_bytes(FULL.replace('"cp"', '"c\xe9p"').encode("latin-1"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert str(err.value).startswith(f"{bad}:24: file: this line is not UTF-8 text; save")


# -- mistakes ------------------------------------------------------------------------------

BASE = """\
schema = 1
name = "Valley"
seed = 3
duration_s = 3600

[site]
lat = 31.05
lon = 103.42

[[team]]
name = "fire-1"
prefix = "0x1000/8"
center = [1200, -400]

[[node]]
name = "cp"
role = "command_post"
radios = [{ profile = "wifi-mesh", channel = "backbone" }, "air"]
position = [0, 0]

[[node]]
name = "gw-1"
role = "gateway"
team = "fire-1"
radios = ["lora", "air"]
position = [1200, -400]

[[node]]
name = "relay-2"
role = "team_relay"
team = "fire-1"
radios = ["lora"]

[[node]]
name = "hh"
role = "handheld"
team = "fire-1"
count = 3
radios = ["lora"]
mobility = { model = "group", leader = "gw-1" }

[[node]]
name = "uav-1"
role = "uav_relay"
radios = ["air"]
altitude_m = 800
mobility = { model = "orbit", radius_m = 500 }

[[traffic]]
kind = "position"
from = "role:handheld"
every_s = 30

[[failure]]
kind = "node_death"
target = "relay-2"
at_s = 1800
"""


def problems(text: str, source: str = "valley.toml") -> list[tuple[int, str]]:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, source)
    lines = str(err.value).splitlines()
    assert len(lines) == len(err.value.problems)
    for (line, message), printed in zip(err.value.problems, lines, strict=True):
        assert printed == f"{source}:{line}: {message}"
        assert re.match(r"[^:]+: .+; .+", message), f"not <where>: <what>; <fix>: {message}"
    found = [line for line, _ in err.value.problems]
    assert found == sorted(found)
    return err.value.problems


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def edit(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_is_valid() -> None:
    got = parse_scenario(BASE)
    assert [n.name for n in got.nodes] == ["cp", "gw-1", "relay-2", "hh", "uav-1"]


ROLES = "handheld, team_relay, gateway, ground_backbone, uav_relay, command_post, sensor"

# (old text, new text, text on the reported line or (text below the reported table
# header,), expected message)
MISTAKES = [
    # enumerations
    (
        'role = "team_relay"',
        'role = "medic"',
        "medic",
        f'node "relay-2": unknown role "medic"; use one of {ROLES}',
    ),
    (
        'role = "team_relay"',
        'role = "backbone"',
        'role = "backbone"',
        f'node "relay-2": unknown role "backbone"; use one of {ROLES}'
        ' (did you mean "ground_backbone"?)',
    ),
    (
        'kind = "position"',
        'kind = "postion"',
        "postion",
        'traffic #1 (postion): unknown kind "postion"; use one of position, status, vitals,'
        ' sos, order, text, bulk (did you mean "position"?)',
    ),
    (
        'kind = "node_death"',
        'kind = "node_dead"',
        "node_dead",
        'failure #1 (node_dead): unknown kind "node_dead"; use one of node_death,'
        " node_restart, link_cut, jamming, partition, uav_departure, uav_crash, gateway_loss"
        ' (did you mean "node_death"?)',
    ),
    (
        'model = "orbit"',
        'model = "circle"',
        "circle",
        'node "uav-1": unknown model "circle"; use one of static, waypoints, random_waypoint,'
        " group, orbit, sortie",
    ),
    # unknown keys, with a suggestion
    (
        "radius_m = 500",
        "radious_m = 500",
        "radious_m",
        'node "uav-1": unknown key "radious_m"; did you mean "radius_m"?',
    ),
    (
        "center = [1200, -400]",
        "centre = [1200, -400]",
        "centre",
        'team "fire-1": unknown key "centre"; did you mean "center"?',
    ),
    ("seed = 3", "sed = 3", "sed", 'scenario: unknown key "sed"; did you mean "seed"?'),
    (
        "lon = 103.42",
        "lon = 103.42\nalt = 5",
        "alt =",
        'site: unknown key "alt"; did you mean "lat"?',
    ),
    # required keys
    (
        "duration_s = 3600\n",
        "",
        "schema = 1",
        'scenario: missing key "duration_s"; add duration_s = 3600',
    ),
    (
        'role = "gateway"\n',
        "",
        ('name = "gw-1"',),
        'node "gw-1": missing key "role"; add role = "handheld"',
    ),
    ("lat = 31.05\n", "", ("lon =",), 'site: missing key "lat"; add lat = 31.05'),
    (
        'from = "role:handheld"\n',
        "",
        ('kind = "position"',),
        'traffic #1 (position): missing key "from"; add from = "role:handheld"',
    ),
    # types
    (
        "altitude_m = 800",
        'altitude_m = "800"',
        "altitude_m",
        'node "uav-1": altitude_m must be a finite number, not a string ("800"); write it'
        " unquoted: altitude_m = 2",
    ),
    (
        "count = 3",
        "count = 2.5",
        "count",
        'node "hh": count must be an integer, not a float (2.5); write a whole number: count = 10',
    ),
    (
        "position = [0, 0]",
        "position = [0]",
        "position = [0]",
        'node "cp": position must be [x, y] (two numbers), not an array ([0]); write it like'
        " [1200, -400]",
    ),
    (
        "at_s = 1800",
        "at_s = true",
        "at_s",
        "failure #1 (node_death): at_s must be a finite number, not a boolean (true); write it"
        " unquoted: at_s = 1800",
    ),
    (
        "at_s = 1800",
        "at_s = nan",
        "at_s",
        "failure #1 (node_death): at_s must be a finite number, not a float (nan); write it"
        " unquoted: at_s = 1800",
    ),
    # ranges
    (
        "duration_s = 3600",
        "duration_s = -5",
        "duration_s",
        "scenario: duration_s = -5 is out of range; use a number greater than 0",
    ),
    (
        "lat = 31.05",
        "lat = 91",
        "lat",
        "site: lat = 91 is out of range; use a number from -90 to 90",
    ),
    ("count = 3", "count = 0", "count", 'node "hh": count = 0 is out of range; use 1 or more'),
    (  # refused before it is expanded into names: 2**63 - 1 of them filled 14 GB once
        "count = 3",
        "count = 9223372036854775807",
        "count",
        'node "hh": count = 9223372036854775807 is out of range (more nodes than a mission has'
        " addresses); use 57,343 or less",
    ),
    (
        "every_s = 30",
        "every_s = 0",
        "every_s",
        "traffic #1 (position): every_s = 0 is out of range; use a number greater than 0",
    ),
    (
        "at_s = 1800",
        "at_s = 4000",
        "at_s",
        "failure #1 (node_death): at_s = 4000 is out of range; use a number from 0 to 3600"
        " (duration_s)",
    ),
    # duplicates, also after count expansion
    (
        'name = "uav-1"',
        'name = "hh-02"',
        "hh-02",
        'node "hh-02": node name "hh-02" is taken by node "hh" (line 34); rename one of them',
    ),
    # references
    (
        'team = "fire-1"\nradios = ["lora"]\n\n',
        'team = "fire-2"\nradios = ["lora"]\n\n',
        "fire-2",
        'node "relay-2": no team is named "fire-2"; did you mean "fire-1"?',
    ),
    (
        'from = "role:handheld"',
        'from = "role:handhelds"',
        "handhelds",
        f'traffic #1 (position): from: unknown role "handhelds"; use one of {ROLES}'
        ' (did you mean "handheld"?)',
    ),
    (
        'from = "role:handheld"',
        'from = "role:sensor"',
        "sensor",
        'traffic #1 (position): from: no node has role "sensor"; add a [[node]] with role ='
        ' "sensor"',
    ),
    (
        "every_s = 30",
        'to = "team:fire-9"\nevery_s = 30',
        "fire-9",
        'traffic #1 (position): to: no team is named "fire-9"; did you mean "fire-1"?',
    ),
    (
        'from = "role:handheld"',
        'from = "hh"',
        'from = "hh"',
        'traffic #1 (position): from: "hh" names 3 nodes (count = 3); name one of them, e.g.'
        ' "hh-01"',
    ),
    (
        'target = "relay-2"',
        'target = "relay-3"',
        "relay-3",
        'failure #1 (node_death): target: no node is named "relay-3"; did you mean "relay-2"?',
    ),
    (
        'leader = "gw-1"',
        'leader = "gw-2"',
        "gw-2",
        'node "hh": leader: no node is named "gw-2"; did you mean "gw-1"?',
    ),
    # mobility needs
    (
        'model = "orbit", radius_m = 500',
        'model = "waypoints"',
        "waypoints",
        'node "uav-1": mobility model "waypoints" needs waypoints; add waypoints = [[1500, 500]]',
    ),
    (
        'model = "orbit"',
        'model = "sortie", waypoints = [[1, 2]]',
        "sortie",
        'node "uav-1": mobility model "sortie" needs endurance_s; add endurance_s = 2400',
    ),
    (
        'model = "orbit", radius_m = 500',
        'model = "orbit", radius_m = 500, takeoff_s = 600',
        "takeoff_s",
        'node "uav-1": takeoff_s does not apply to mobility model "orbit"; remove it (only'
        ' "sortie" reads it)',
    ),
    (
        'model = "orbit"',
        'model = "sortie", waypoints = [[1, 2]], endurance_s = 2400, takeoff_s = -60',
        "takeoff_s",
        'node "uav-1": takeoff_s = -60 is out of range; use a number of at least 0',
    ),
    (
        'model = "orbit", radius_m = 500',
        'model = "static", leader = "cp"',
        "static",
        'node "uav-1": leader does not apply to mobility model "static"; remove it (only "group"'
        " reads it)",
    ),
    (
        'team = "fire-1"\ncount = 3\nradios = ["lora"]\nmobility = { model = "group", leader ='
        ' "gw-1" }',
        'count = 3\nradios = ["lora"]\nmobility = { model = "group" }',
        'model = "group"',
        'node "hh": mobility model "group" needs a leader or a team; add leader = "fire-1-gw" to'
        ' mobility, or team = "<name>" to the node',
    ),
    # failure needs
    (
        'kind = "node_death"\ntarget = "relay-2"',
        'kind = "link_cut"',
        ("link_cut",),
        'failure #1 (link_cut): link_cut needs between; add between = ["relay-1", "relay-2"]',
    ),
    (
        'kind = "node_death"\ntarget = "relay-2"',
        'kind = "jamming"\nprofile = "lora"',
        ("jamming",),
        "failure #1 (jamming): jamming needs a center; add center = [x, y] (metres)",
    ),
    (
        'target = "relay-2"\n',
        "",
        ("node_death",),
        'failure #1 (node_death): node_death needs a target or rate_per_h; add target = "relay-2"'
        " or rate_per_h = 0.5",
    ),
    (
        "at_s = 1800",
        "silent = true",
        ("node_death",),
        "failure #1 (node_death): no at_s or rate_per_h; add at_s = 1800 or rate_per_h = 0.5",
    ),
    (
        "at_s = 1800",
        "at_s = 1800\nnotice_s = 5",
        "notice_s",
        'failure #1 (node_death): notice_s does not apply to kind "node_death"; remove it'
        " (node_death reads: target, at_s, rate_per_h, silent)",
    ),
    (
        'target = "relay-2"',
        'target = "cp"\nkind2 = 1',
        "kind2",
        'failure #1 (node_death): unknown key "kind2"; did you mean "kind"?',
    ),
    (
        'kind = "node_death"\ntarget = "relay-2"',
        'kind = "uav_crash"\ntarget = "gw-1"',
        'target = "gw-1"',
        "failure #1 (uav_crash): target: uav_crash needs a uav_relay, not a gateway; name a node"
        ' with role = "uav_relay"',
    ),
    # the one command post
    (
        'role = "command_post"',
        'role = "gateway"',
        ('kind = "position"',),
        'traffic #1 (position): traffic goes to "command" but no node has role command_post; add'
        ' a [[node]] with role = "command_post"',
    ),
    (
        'role = "team_relay"',
        'role = "command_post"',
        'role = "command_post"\nteam',
        'node "relay-2": more than one command post (the first is "cp", line 15) while traffic #1'
        ' goes to "command"; keep one command_post, or address traffic to a node by name',
    ),
    # addresses and prefixes
    (
        "position = [0, 0]",
        'position = [0, 0]\naddress = "0xe001"',
        "0xe001",
        'node "cp": address 0xe001 is outside the unicast range; use 0x0001..0xdfff',
    ),
    (
        "position = [0, 0]",
        "position = [0, 0]\naddress = 0",
        "address",
        'node "cp": address 0x0000 is outside the unicast range; use 0x0001..0xdfff',
    ),
    (
        "count = 3",
        'count = 3\naddress = "0x1001"',
        "0x1001",
        'node "hh": address names one node but count = 3; leave address out (members get'
        " addresses in their team's block), or give each node its own table",
    ),
    (
        '"0x1000/8"',
        '"0x1001/8"',
        "0x1001/8",
        'team "fire-1": prefix "0x1001/8" has host bits set; use "0x1000/8"',
    ),
    (
        '"0x1000/8"',
        '"0x1000/16"',
        "0x1000/16",
        'team "fire-1": prefix length 16 is outside 1..15; use e.g. /8 (256 nodes)',
    ),
    (
        '"0x1000/8"',
        '"0x1000/15"',
        "0x1000/15",
        'team "fire-1": prefix 0x1000/15 holds 2 addresses but the team has 5 nodes; use a'
        ' shorter prefix, e.g. "0x1000/13"',
    ),
    (
        '"0x1000/8"',
        '"0x8000/1"',
        "0x8000/1",
        'team "fire-1": prefix "0x8000/1" reaches 0xffff, past the unicast range; use a block'
        " below 0xe000 (group addresses start there)",
    ),
    (
        'team = "fire-1"\nradios = ["lora", "air"]',
        'team = "fire-1"\naddress = "0x2001"\nradios = ["lora", "air"]',
        "0x2001",
        'node "gw-1": address 0x2001 is outside team "fire-1"\'s prefix 0x1000/8; use an address'
        " in 0x1000..0x10ff, or leave address out",
    ),
    (
        "position = [0, 0]",
        'position = [0, 0]\naddress = "0x1005"',
        "0x1005",
        'node "cp": address 0x1005 lies in team "fire-1"\'s prefix 0x1000/8; use an address'
        ' outside the team blocks, or set team = "fire-1"',
    ),
    (
        "center = [1200, -400]\n",
        'center = [1200, -400]\n\n[[team]]\nname = "fire-2"\nprefix = "0x1080/9"\n',
        "0x1080/9",
        'team "fire-2": prefix 0x1080/9 overlaps team "fire-1"\'s 0x1000/8 (line 10); give'
        ' each team its own block, e.g. "0x1100/9"',
    ),
    # radio profiles (names checked through sim.radio)
    (
        'radios = ["air"]',
        'radios = ["aire"]',
        "aire",
        'node "uav-1": unknown radio profile "aire"; did you mean "air"?',
    ),
    (
        'radios = ["air"]',
        'radios = [{ profile = "" }]',
        'profile = ""',
        'node "uav-1": profile is empty; write profile = "lora"',
    ),
    # misc
    (
        'name = "Valley"',
        'name = "Valley"\nschema2 = 1',
        "schema2",
        'scenario: unknown key "schema2"; did you mean "schema"?',
    ),
    ("schema = 1", "schema = 0", "schema", "scenario: schema 0 does not exist; write schema = 1"),
    (
        'name = "uav-1"',
        'name = "command"',
        '"command"',
        'node "command": name "command" is a keyword of traffic targets; choose another name,'
        ' e.g. "command-1"',
    ),
    (
        "every_s = 30",
        "every_s = 30\nat_s = 5",
        "at_s = 5",
        "traffic #1 (position): both every_s and at_s are given; keep every_s for a periodic flow"
        " or at_s for one message",
    ),
]


@pytest.mark.parametrize(("old", "new", "on_line", "message"), MISTAKES)
def test_each_mistake_is_reported_on_its_line_with_its_fix(
    old: str, new: str, on_line: str | tuple[str], message: str
) -> None:
    text = edit(old, new)
    if isinstance(on_line, tuple):  # about the whole table: its header, above this text
        line = line_of(text, on_line[0])
        while not text.splitlines()[line - 1].startswith("["):
            line -= 1
    else:
        line = line_of(text, on_line)
    assert problems(text) == [(line, message)]


def test_clashes_name_the_earlier_line() -> None:
    text = edit('name = "uav-1"', 'name = "gw-1"')
    first = line_of(text, 'name = "gw-1"\nrole = "gateway"') - 1
    assert problems(text) == [
        (
            line_of(text, 'name = "gw-1"\nrole = "uav_relay"'),
            f'node "gw-1": node name "gw-1" is taken by node "gw-1" (line {first}); rename one'
            " of them",
        )
    ]
    text = edit('name = "uav-1"', 'name = "fire-1"')
    node = line_of(text, 'name = "fire-1"\nrole') - 1
    assert problems(text) == [
        (
            line_of(text, 'name = "fire-1"\nprefix'),
            f'team "fire-1": a node is also named "fire-1" (line {node}); give teams and nodes'
            " different names (failure targets name either)",
        )
    ]
    text = edit('role = "uav_relay"', 'role = "uav_relay"\naddress = 1')
    text = text.replace("position = [0, 0]", 'position = [0, 0]\naddress = "0x0001"')
    assert problems(text) == [
        (
            line_of(text, "address = 1"),
            'node "uav-1": address 0x0001 is also node "cp"\'s (line 15); give each node its'
            " own address, or leave address out to have one assigned",
        )
    ]


def test_all_problems_come_together_sorted_by_line() -> None:
    text = (
        BASE.replace("at_s = 1800", "at_s = -1")
        .replace('role = "team_relay"', 'role = "medic"')
        .replace("lat = 31.05", "lat = 310.5")
        .replace('kind = "position"', 'kind = "positions"')
    )
    found = problems(text)
    assert [line for line, _ in found] == [
        line_of(text, "310.5"),
        line_of(text, "medic"),
        line_of(text, "positions"),
        line_of(text, "at_s = -1"),
    ]
    assert [message.split(":")[0] for _, message in found] == [
        "site",
        'node "relay-2"',
        "traffic #1 (positions)",
        "failure #1 (node_death)",
    ]


def test_a_bad_node_does_not_make_references_to_it_errors() -> None:
    text = edit('radios = ["lora"]\n\n[[node]]\nname = "hh"', 'radios = 5\n\n[[node]]\nname = "hh"')
    assert [message for _, message in problems(text)] == [
        'node "relay-2": radios must be a non-empty array, not an integer (5); write'
        ' radios = [{ profile = "lora", channel = "team" }]'
    ]


def test_toml_syntax_error_keeps_tomllib_position() -> None:
    text = BASE.replace('role = "gateway"', "role = gateway")
    assert problems(text) == [
        (
            line_of(text, "role = gateway"),
            "TOML syntax: Invalid value at column 8; quote strings, write numbers plainly and"
            " booleans as true or false",
        )
    ]
    assert problems(BASE + "[[node]\n")[0][1].startswith("TOML syntax: ")


def test_a_newer_schema_stops_at_once() -> None:
    text = BASE.replace("schema = 1", "schema = 2").replace("lat = 31.05", "lat = 310")
    assert problems(text, "e.toml") == [
        (
            1,
            "scenario: schema 2 is newer than this tacmesh reads (1); upgrade tacmesh, or"
            " write the file for schema 1 (SCHEMA.md)",
        )
    ]


def test_radio_tables_rejected_by_sim_radio_are_reported_on_their_line() -> None:
    text = BASE + '\n[[radio]]\nname = "mine"\nbase = "broken"\n\n[[radio]]\nbase = "lora"\n'
    assert problems(text) == [
        (line_of(text, '"broken"'), 'radio "mine": unknown base "broken"; use base = "lora"'),
        (
            line_of(text, 'base = "lora"\n') - 1,
            'radio #2: missing key "name"; add name = "lora-sf9"',
        ),
    ]


def test_without_sim_radio_any_profile_name_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tacmesh.sim.radio", None)  # import raises ImportError
    got = parse_scenario(edit('radios = ["air"]', 'radios = ["made-up"]'))
    assert got.nodes[-1].radios == (RadioUse("made-up"),)


def test_schema_md_example_loads_with_the_real_radio_profiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tacmesh.sim.radio", REAL_RADIO)
    doc = Path(__file__).parents[2] / "sim" / "scenario" / "SCHEMA.md"
    example = re.search(r"```toml\n(.*?)```", doc.read_text("utf-8"), re.S)
    assert example is not None
    got = parse_scenario(example.group(1), "SCHEMA.md")
    assert sum(node.count for node in got.nodes) == 21
    bad = example.group(1).replace('radios = ["air"]', 'radios = ["aire"]', 1)
    with pytest.raises(ScenarioError, match='unknown radio profile "aire"'):
        parse_scenario(bad)


# -- the line locator -----------------------------------------------------------------------

TRICKY = '''\
schema = 1 # [[node]] in a comment
"quoted.key" = 'C:\\temp\\'
[ site ]
lat = 1
[[node]]
name = """a
[[node]]
b"""""
radios = [
  "x",   # a comment ]
  { profile = "y", channel = 'z' },
]
mobility.model = "g"
[node.extra]
speed_mps = 2
[[node]]
z = [ [1, 2], [3,
 4] ]
[[node.radio]]
x = 1
[[node.radio]]
y = "#"
'''


def test_locator_follows_strings_comments_and_nested_tables() -> None:
    assert tomllib.loads(TRICKY)["node"][0]["name"] == 'a\n[[node]]\nb""'
    lines = LineMap(TRICKY)
    expect = {
        ("quoted.key",): 2,
        ("site", "lat"): 4,
        ("node", 0): 5,
        ("node", 0, "radios", 0): 10,
        ("node", 0, "radios", 1, "channel"): 11,
        ("node", 0, "mobility", "model"): 13,
        ("node", 0, "extra"): 14,
        ("node", 0, "extra", "speed_mps"): 15,
        ("node", 1): 16,
        ("node", 1, "z", 1, 1): 18,
        ("node", 1, "radio", 1, "y"): 22,
    }
    assert {path: lines.exact(path) for path in expect} == expect
    assert lines.line(("node", 1, "radio", 0, "missing")) == 19  # falls back to the table
    assert lines.line(("nothing", 3)) == 1


# -- round trips of random valid scenarios --------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(0.001, 1e5)
points = st.tuples(finite, finite).map(list)
ROLES_BUT_CP = ["handheld", "team_relay", "gateway", "ground_backbone", "uav_relay", "sensor"]


def toml_value(value: object) -> str:
    """A tiny TOML writer for the values these tests make."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = "".join(
            "\\" + ch
            if ch in '"\\'
            else f"\\u{ord(ch):04x}"
            if ord(ch) < 32 or ord(ch) == 127
            else ch
            for ch in value
        )
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


@st.composite
def mobilities(draw: st.DrawFn) -> dict[str, object] | None:
    kind = draw(st.sampled_from([None, "static", "waypoints", "orbit", "group", "random_waypoint"]))
    if kind is None:
        return None
    mob: dict[str, object] = {"model": kind}
    if kind == "waypoints":
        mob["waypoints"] = draw(st.lists(points, min_size=1, max_size=3))
    if kind in ("orbit", "group") and draw(st.booleans()):
        mob["radius_m"] = draw(positive)
    if kind == "orbit" and draw(st.booleans()):
        mob["altitude_m"] = draw(positive)
    if kind == "group":
        mob["leader"] = "cp"
    if kind == "random_waypoint":
        x, y = draw(finite), draw(finite)
        mob["area"] = [x, y, x + draw(positive), y + draw(positive)]
    if draw(st.booleans()):
        mob["speed_mps"] = draw(positive)
    return mob


@st.composite
def node_tables(draw: st.DrawFn, index: int, teams: list[str]) -> dict[str, object]:
    radio = st.one_of(
        st.sampled_from(["lora", "air", "wifi-mesh"]),
        st.fixed_dictionaries(
            {"profile": st.sampled_from(["lora", "air"])},
            optional={"channel": st.sampled_from(["team", "b"]), "interface": st.just("if0")},
        ),
    )
    node: dict[str, object] = {
        "name": f"n{index}",
        "role": draw(st.sampled_from(ROLES_BUT_CP)),
        "radios": draw(st.lists(radio, min_size=1, max_size=3)),
    }
    if draw(st.booleans()) and teams:
        node["team"] = draw(st.sampled_from(teams))
    if draw(st.booleans()):
        node["position"] = draw(points)
    if draw(st.booleans()):
        node["altitude_m"] = draw(positive)
    if draw(st.booleans()):
        node["count"] = draw(st.integers(1, 4))
    mobility = draw(mobilities())
    if mobility is not None:
        node["mobility"] = mobility
    return node


@st.composite
def scenario_dicts(draw: st.DrawFn) -> dict[str, object]:
    teams: list[dict[str, object]] = []
    for i in range(draw(st.integers(0, 3))):
        team: dict[str, object] = {"name": f"team-{i}"}
        if draw(st.booleans()):
            team["prefix"] = f"0x{0x1000 + 0x100 * i:04x}/8"
        if draw(st.booleans()):
            team["center"] = draw(points)
        teams.append(team)
    team_names = [str(t["name"]) for t in teams]
    cp: dict[str, object] = {"name": "cp", "role": "command_post", "radios": ["wifi-mesh"]}
    if draw(st.booleans()):
        cp["address"] = draw(st.integers(1, 0x0FFF))
    nodes = [cp] + [draw(node_tables(i, team_names)) for i in range(draw(st.integers(0, 4)))]
    singles = [
        n for node in nodes for n in member_names(str(node["name"]), int(str(node.get("count", 1))))
    ]
    duration = draw(st.floats(1, 1e6))
    sources = st.sampled_from(
        [*singles, "all", "role:command_post", *(f"team:{t}" for t in team_names)]
    )
    flows = [
        {
            "kind": draw(st.sampled_from(["position", "status", "vitals", "sos", "order", "text"])),
            "from": draw(sources),
            "to": draw(st.sampled_from(["command", "all", *singles])),
            **draw(
                st.one_of(
                    st.builds(dict, every_s=positive), st.builds(dict, at_s=st.floats(0, duration))
                )
            ),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    failures = [
        {
            "kind": "node_death",
            "target": draw(st.sampled_from(singles)),
            "at_s": draw(st.floats(0, duration)),
            "silent": draw(st.booleans()),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {
        "schema": 1,
        "name": draw(st.text(min_size=1, max_size=12).filter(str.strip)),
        "seed": draw(st.integers(-(2**63), 2**63 - 1)),
        "duration_s": duration,
        "site": {"lat": draw(st.floats(-89, 89)), "lon": draw(st.floats(-179, 179))},
        "team": teams,
        "node": nodes,
        "traffic": flows,
        "failure": failures,
    }


def render(data: dict[str, object], rnd: random.Random) -> str:
    """TOML text of ``data`` in one of the layouts engineers write: comments, blank lines,
    arrays over several lines, mobility inline, as dotted keys or as a [node.mobility]."""
    out: list[str] = []

    def put(key: str, value: object) -> None:
        comment = "  # note" if rnd.random() < 0.3 else ""
        if isinstance(value, list) and value and rnd.random() < 0.3:
            out.append(f"{key} = [")
            out.extend(f"  {toml_value(v)}," for v in value)
            out.append("]" + comment)
        else:
            out.append(f"{key} = {toml_value(value)}{comment}")

    for key in ("schema", "name", "seed", "duration_s"):
        put(key, data[key])
    out.append("\n[site]")
    for key, value in data["site"].items():  # type: ignore[attr-defined]
        put(key, value)
    for array in ("team", "node", "traffic", "failure"):
        for table in data[array]:  # type: ignore[attr-defined]
            out.append(rnd.choice(["", "\n", "\n# next\n"]) + f"[[{array}]]")
            mobility = table.get("mobility")
            for key, value in table.items():
                if key != "mobility":
                    put(key, value)
            style = rnd.choice(["inline", "dotted", "table"])
            if mobility is not None and style == "inline":
                put("mobility", mobility)
            elif mobility is not None and style == "dotted":
                for key, value in mobility.items():
                    put(f"mobility.{key}", value)
            elif mobility is not None:
                out.append("[node.mobility]")
                for key, value in mobility.items():
                    put(key, value)
    return "\n".join(out) + "\n"


def expected_node(node: dict[str, Any], line: int) -> NodeSpec:
    radios = tuple(
        RadioUse(r)
        if isinstance(r, str)
        else RadioUse(r["profile"], r.get("channel", "default"), r.get("interface"))
        for r in node["radios"]
    )
    spec = NodeSpec(name=node["name"], role=node["role"], radios=radios, line=line)
    mob = dict(node.get("mobility") or {})
    if mob.get("model") == "orbit" and "altitude_m" not in mob and "altitude_m" in node:
        mob["altitude_m"] = node["altitude_m"]
    for key in ("waypoints",):
        if key in mob:
            mob[key] = tuple(tuple(p) for p in mob[key])
    if "area" in mob:
        mob["area"] = tuple(mob["area"])
    changes: dict[str, Any] = {
        k: v for k, v in node.items() if k in ("team", "address", "altitude_m", "count")
    }
    if "position" in node:
        changes["position"] = tuple(node["position"])
    if mob:
        changes["mobility"] = Mobility(**mob)
    return dataclasses.replace(spec, **changes)


@given(scenario_dicts(), st.randoms(use_true_random=False))
def test_random_valid_scenarios_parse_back_to_their_values(
    data: dict[str, Any], rnd: random.Random
) -> None:
    text = render(data, rnd)
    # The test's own writer is right, so what follows judges the loader.
    assert tomllib.loads(text) == {key: value for key, value in data.items() if value != []}
    got = parse_scenario(text)
    headers = [i for i, line in enumerate(text.split("\n"), 1) if line.endswith("[[node]]")]
    assert got.nodes == tuple(
        expected_node(n, line) for n, line in zip(data["node"], headers, strict=True)
    )
    assert (got.name, got.seed, got.duration_s) == (data["name"], data["seed"], data["duration_s"])
    assert got.site == Site(**data["site"])
    assert [(t.name, t.prefix) for t in got.teams] == [
        (t["name"], None if "prefix" not in t else (int(t["prefix"][2:6], 16), 8))
        for t in data["team"]
    ]
    assert [(f.kind, f.sources, f.to, f.every_s, f.at_s) for f in got.traffic] == [
        (f["kind"], f["from"], f["to"], f.get("every_s"), f.get("at_s")) for f in data["traffic"]
    ]
    assert [(f.target, f.at_s, f.silent) for f in got.failures] == [
        (f["target"], f["at_s"], f["silent"]) for f in data["failure"]
    ]


def key_paths(
    value: object, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], object]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from key_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from key_paths(item, (*path, index))


@given(scenario_dicts(), st.randoms(use_true_random=False))
def test_the_locator_finds_the_line_of_every_key(data: dict[str, Any], rnd: random.Random) -> None:
    text = render(data, rnd)
    lines, source = LineMap(text), text.split("\n")  # not splitlines: TOML ends lines at \n
    for path, value in key_paths(tomllib.loads(text)):
        if not path or (isinstance(path[-1], int) and not isinstance(value, str)):
            continue
        line = source[lines.line(path) - 1]
        wanted = str(path[-1]) if isinstance(path[-1], str) else toml_value(value)
        assert wanted in line, (path, line)


keys = st.from_regex(r"[a-z_]{1,10}", fullmatch=True)
toml_values = st.recursive(
    st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=6,
)


@given(st.data())
def test_any_mangled_file_is_loaded_or_explained(data: st.DataObject) -> None:
    """Whatever one value becomes (or if it goes), the loader returns a scenario or raises
    ScenarioError with lines inside the file: never another exception."""
    scenario = tomllib.loads(BASE)
    paths = [path for path, _ in key_paths(scenario) if path]
    path = data.draw(st.sampled_from(paths))
    parent: Any = scenario
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(toml_values)
    text = "\n".join(f"{key} = {toml_value(value)}" for key, value in scenario.items()) + "\n"
    try:
        parse_scenario(text)
    except ScenarioError as err:
        assert err.problems
        assert all(1 <= line <= text.count("\n") + 1 for line, _ in err.problems)
