"""Sub-net boundaries (SPEC.md §8.2.5): a gateway summarises its team for the backbone and
offers its team a default route, so neither side carries the other's whole table.

Two teams, each a shared narrowband channel (a full mesh of links on one interface)
behind its gateway; the gateways and the command post share a backbone channel.
"""

from __future__ import annotations

from dataclasses import replace

from tacmesh.protocol.addresses import ALL_HANDS, Prefix, Role, team_group
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.routing import DEFAULT
from tacmesh.protocol.frame_types import FrameType
from tacmesh.sim.mini import MiniNet

from .topologies import NARROWBAND, deliveries, text, walk

CP = 0x0001
GATEWAYS = {0x0100: Prefix(0x1000, 8), 0x0200: Prefix(0x2000, 8)}
MEMBERS = 3
TEAM = replace(NARROWBAND, name="team", subnet=True)
BACKBONE = InterfaceConfig("backbone")


def members(prefix: Prefix) -> list[int]:
    return [prefix.base + 1 + i for i in range(MEMBERS)]


def build() -> MiniNet:
    net = MiniNet(seed=4)
    net.add_node(CP, [BACKBONE], role=Role.COMMAND_POST)
    for gw, prefix in GATEWAYS.items():
        group = frozenset({team_group(gw >> 8)})  # gateway 0x0100 leads team 1
        net.add_node(gw, [TEAM, BACKBONE], role=Role.GATEWAY, prefixes=(prefix,), groups=group)
        net.connect(CP, "backbone", gw, "backbone")
        team = [gw, *members(prefix)]
        for m in members(prefix):
            net.add_node(m, [replace(TEAM, subnet=False)], role=Role.HANDHELD, groups=group)
        for i, a in enumerate(team):
            for b in team[i + 1 :]:
                net.connect(a, "team", b, "team", delay_s=0.02)
    net.connect(0x0100, "backbone", 0x0200, "backbone")
    net.run_for(10.0)
    return net


def table(net: MiniNet, node: int) -> set[Prefix]:
    routing = net.engines[node].control.routing
    return {p for p, s in routing.selected.items() if s.metric < 0xFFFF}


def test_the_backbone_sees_each_team_as_one_prefix() -> None:
    net = build()
    for node in (CP, *GATEWAYS):
        learned = table(net, node) - set(net.engines[node].control.routing.own)
        assert DEFAULT not in learned
        for gw, prefix in GATEWAYS.items():
            if gw != node:
                assert prefix in learned
                assert not [p for p in learned if p != prefix and prefix.covers(p)], node


def test_a_team_sees_its_block_and_a_default_route_only() -> None:
    net = build()
    for gw, prefix in GATEWAYS.items():
        for m in members(prefix):
            expected = {Prefix(a, 16) for a in [gw, *members(prefix)]} | {prefix, DEFAULT}
            assert table(net, m) == expected


def test_traffic_crosses_the_boundary_both_ways_and_between_teams() -> None:
    net = build()
    a, b = members(GATEWAYS[0x0100])[0], members(GATEWAYS[0x0200])[-1]
    for src, dst in [(a, CP), (CP, a), (a, b)]:
        net.send(src, dst, FrameType.TEXT, text(f"{src:04x}->{dst:04x}"))
    net.run_for(5.0)
    assert len(deliveries(net, CP, a)) == 1
    assert len(deliveries(net, a, CP)) == 1
    assert len(deliveries(net, b, a)) == 1
    assert walk(net, a, b) == [a, 0x0100, 0x0200, b]


def test_a_message_for_a_missing_member_waits_at_its_gateway_without_looping() -> None:
    net = build()
    ghost = GATEWAYS[0x0200].base + 0x55  # inside team 2's block, no such handheld
    net.send(CP, ghost, FrameType.TEXT, text("anyone?"))
    net.run_for(5.0)
    gw = net.engines[0x0200]
    assert len(gw.custody) == 1  # held for when the member appears
    relayed = [net.engines[n].counters["forwarded"] for n in (CP, 0x0100, 0x0200)]
    assert sum(relayed) <= 2  # CP -> GW1 -> GW2 at most: nobody bounces it back


def test_a_team_message_enters_only_its_own_team_and_all_hands_enter_every_team() -> None:
    net = build()
    one, two = members(GATEWAYS[0x0100]), members(GATEWAYS[0x0200])
    order = (CP, net.send(CP, team_group(1), FrameType.TEXT, text("team 1: move north")))
    net.run_for(5.0)
    assert all(len(deliveries(net, m, CP)) == 1 for m in [0x0100, *one])
    # Gateway 2 relays it on the backbone (it may lead to other gateways) but never into
    # its team's narrowband channel: no handheld of team 2 even saw the frame.
    assert net.engines[0x0200].seen.check_and_add(order, net.now, 60) is False
    assert all(net.engines[m].seen.check_and_add(order, net.now, 60) for m in two)
    net.send(CP, ALL_HANDS, FrameType.TEXT, text("all: weather warning"))
    net.run_for(5.0)
    assert all(len(deliveries(net, m, CP)) == 2 for m in one)
    assert all(len(deliveries(net, m, CP)) == 1 for m in two)
