"""The operation generator: its text loads cleanly, holds exactly the nodes it announces,
is the same for the same seed, and gives each team its own address block.

Profile names are checked against a stand-in ``tacmesh.sim.radio`` (lora, air, wifi-mesh)
so these tests do not move with the radio catalogue; one test loads a generated
operation against the real one.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim.scenario import (
    Scenario,
    ScenarioError,
    generate_operation,
    member_names,
    parse_scenario,
)

REAL_RADIO = importlib.import_module("tacmesh.sim.radio")
"""The real module, put back for the tests that run against it (the others use a stand-in)."""


def fake_load_profiles(extra: list[Mapping[str, object]]) -> dict[str, object]:
    return {"lora": {}, "air": {}, "wifi-mesh": {}, **{str(t["name"]): t for t in extra}}


@pytest.fixture(autouse=True)
def stand_in_radio(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("tacmesh.sim.radio")
    fake.load_profiles = fake_load_profiles  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tacmesh.sim.radio", fake)


def total(scenario: Scenario) -> int:
    return sum(node.count for node in scenario.nodes)


def announced(text: str) -> int:
    found = re.search(r"^# nodes: (\d+) = ", text, re.M)
    assert found is not None and text.index(found.group(0)) < text.index("schema = 1")
    return int(found.group(1))


@pytest.mark.parametrize(
    ("teams", "responders", "uavs", "backbone"),
    [(1, 1, 0, 0), (3, 12, 2, None), (25, 8, 4, None), (40, 150, 1, 3)],
)
def test_node_count_is_exactly_the_formula(
    teams: int, responders: int, uavs: int, backbone: int | None
) -> None:
    text = generate_operation(teams, responders, uavs=uavs, backbone=backbone, seed=5)
    got = parse_scenario(text, "generated.toml")
    b = max(2, round(teams / 10)) if backbone is None else backbone
    formula = 1 + b + uavs + teams * (1 + responders)
    assert total(got) == announced(text) == formula
    roles = [node.role for node in got.nodes for _ in range(node.count)]
    assert roles.count("command_post") == 1
    assert roles.count("ground_backbone") == b
    assert roles.count("uav_relay") == uavs
    assert roles.count("gateway") == teams
    assert roles.count("handheld") == teams * responders
    handheld_tables = [node for node in got.nodes if node.role == "handheld"]
    assert [node.count for node in handheld_tables] == [responders] * teams


@given(st.integers(1, 30), st.integers(1, 60), st.integers(0, 3), st.integers(0, 2**32))
def test_any_operation_loads_and_counts(teams: int, responders: int, uavs: int, seed: int) -> None:
    text = generate_operation(teams, responders, uavs=uavs, seed=seed)
    assert total(parse_scenario(text)) == announced(text)
    assert total(parse_scenario(text)) == 1 + max(2, round(teams / 10)) + uavs + teams * (
        1 + responders
    )


def test_same_seed_same_text_other_seed_other_text() -> None:
    first = generate_operation(12, 10, seed=3)
    assert generate_operation(12, 10, seed=3) == first
    assert generate_operation(12, 10, seed=4) != first
    # Only the random parts differ: the tables are the same in number and kind.
    assert re.findall(r"^\[\[\w+\]\]", first, re.M) == re.findall(
        r"^\[\[\w+\]\]", generate_operation(12, 10, seed=4), re.M
    )


def test_team_prefixes_are_disjoint_and_hold_their_members() -> None:
    got = parse_scenario(generate_operation(30, 100, seed=9))
    blocks = []
    for team in got.teams:
        assert team.prefix is not None
        base, length = team.prefix
        size = 1 << (16 - length)
        assert base % size == 0 and base >= 0x0001 and base + size - 1 <= 0xDFFF
        members = [n for n in got.nodes if n.team == team.name]
        assert sorted(n.role for n in members) == ["gateway", "handheld"]
        assert sum(n.count for n in members) == 101 <= size
        blocks.append(range(base, base + size))
    assert len(blocks) == 30
    for i, a in enumerate(blocks):
        for b in blocks[i + 1 :]:
            assert a.stop <= b.start or b.stop <= a.start


def test_the_operation_has_the_promised_shape() -> None:
    area = 8000.0
    got = parse_scenario(generate_operation(6, 5, seed=2, area_m=area, duration_s=1800))
    nodes = {node.name: node for node in got.nodes}
    cp = nodes["cp"]
    assert cp.position == (0.0, 0.0)
    assert [(r.profile, r.channel) for r in cp.radios] == [
        ("wifi-mesh", "backbone"),
        ("air", "backbone"),
    ]
    for node in got.nodes:
        # relays: on the air backbone, and serving their own cell (cells.py)
        relay = [("air", "backbone", None), ("air", f"cell-{node.name}", "air-cell")]
        air = [(r.profile, r.channel, r.interface) for r in node.radios if r.profile == "air"]
        if node.role == "uav_relay":
            assert node.mobility.model == "orbit"
            assert 600 <= node.mobility.altitude_m <= 1000
            assert air == relay and len(node.radios) == 2
        if node.role == "ground_backbone":
            assert air == relay
            assert [r.profile for r in node.radios] == ["wifi-mesh", "air", "air"]
        if node.role == "gateway":
            assert [(r.profile, r.channel) for r in node.radios[:1]] == [("lora", "team")]
            (uplink,) = node.radios[1:]
            assert uplink.profile == "air" and re.fullmatch(r"cell-(bb-\d+|uav-\d)", uplink.channel)
        if node.role == "handheld":
            assert node.mobility.model == "group"
            assert node.mobility.leader == f"{node.team}-gw"
        if node.position is not None:
            assert all(abs(v) <= area / 2 for v in node.position)
    for team in got.teams:
        assert all(abs(v) <= area / 2 for v in team.center)
    kinds = [flow.kind for flow in got.traffic]
    assert kinds.count("position") == 1 and kinds.count("vitals") == 1
    soses = [flow for flow in got.traffic if flow.kind == "sos"]
    orders = [flow for flow in got.traffic if flow.kind == "order"]
    for team, sos, order in zip(got.teams, soses, orders, strict=True):
        assert sos.sources in member_names(f"{team.name}-hh", 5)
        assert sos.at_s is not None and 0 <= sos.at_s <= 1800
        assert (order.sources, order.to, order.every_s) == ("cp", f"team:{team.name}", 600.0)
    assert got.failures == ()


def test_the_commented_failure_example_is_valid_once_uncommented() -> None:
    text = generate_operation(2, 3, seed=1)
    example = re.sub(r"^# (\[\[failure\]\]|\w+ = )", r"\1", text, flags=re.M)
    assert example != text
    (failure,) = parse_scenario(example).failures
    assert (failure.kind, failure.target, failure.at_s) == ("node_death", "team-01-gw", 1800.0)


def test_a_given_name_is_escaped() -> None:
    got = parse_scenario(generate_operation(1, 2, name='Valley "B"\\ \u00e9\n'))
    assert got.name == 'Valley "B"\\ \u00e9\n'


@pytest.mark.parametrize(
    "kwargs",
    [
        {"teams": 0, "responders": 3},
        {"teams": 2, "responders": 0},
        {"teams": 2, "responders": 3, "uavs": -1},
        {"teams": 2, "responders": 3, "duration_s": 0},
        {"teams": 400, "responders": 200},  # 400 blocks of 256 exceed the unicast range
    ],
)
def test_impossible_operations_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|fit"):
        generate_operation(**kwargs)


def test_an_edited_operation_reports_like_a_hand_written_one() -> None:
    text = generate_operation(2, 3, seed=1).replace('role = "gateway"', 'role = "gatway"', 1)
    with pytest.raises(ScenarioError, match=r'unknown role "gatway"; use one of .*"gateway"\?'):
        parse_scenario(text)


def test_generated_profiles_exist_in_the_real_radio_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tacmesh.sim.radio", REAL_RADIO)
    got = parse_scenario(generate_operation(3, 4, seed=1))
    assert total(got) == 1 + 2 + 2 + 3 * 5
