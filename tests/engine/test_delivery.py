"""Data delivery (SPEC.md §3, §4.3, §9): unicast, all-hands and team groups arrive exactly
once where they should, held messages leave when a route appears, hop limits hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import pytest

from engine.topologies import (
    SETTLE_S,
    TEAMS,
    Flow,
    Topology,
    deliveries,
    grid,
    line,
    position,
    ring,
    route,
    team_members,
    text,
    two_tier,
)
from tacmesh.protocol.addresses import ALL_HANDS, team_group
from tacmesh.protocol.frame_types import FrameType
from tacmesh.sim.mini import MiniNet, Received

ENDS: dict[str, tuple[Callable[[], Topology], int, int]] = {
    "line5": (lambda: line(5), 0x0101, 0x0105),
    "ring6": (lambda: ring(6), 0x0101, 0x0104),
    "grid4x4": (lambda: grid(4, 4), 0x0101, 0x0134),
    "two_tier": (two_tier, 0x1103, 0x1303),
}


def settled(topo: Topology, seed: int = 5, **config: object) -> MiniNet:
    net = topo.build(seed=seed, **config)
    net.run_for(SETTLE_S)
    return net


def copies(net: MiniNet, source: int, msg_id: int) -> list[Received]:
    """Every delivery, at any node, of message ``(source, msg_id)``."""
    return [
        r
        for r in net.received
        if (r.delivery.message.header.source, r.delivery.message.header.message_id)
        == (source, msg_id)
    ]


def who_delivered(net: MiniNet, source: int, msg_id: int) -> Counter[int]:
    return Counter(r.node for r in copies(net, source, msg_id))


@pytest.mark.parametrize("name", sorted(ENDS))
def test_unicast_arrives_once_with_its_identity(name: str) -> None:
    build, src, dst = ENDS[name]
    net = settled(build())
    for a, b in ((src, dst), (dst, src)):
        msg_id = net.send(a, b, FrameType.TEXT, text(f"from 0x{a:04x}"))
        net.run_for(1.0)
        assert who_delivered(net, a, msg_id) == {b: 1}
        (got,) = copies(net, a, msg_id)
        assert got.delivery.message.body == text(f"from 0x{a:04x}")


@pytest.mark.parametrize("name", sorted(ENDS))
def test_all_hands_arrives_once_everywhere_else(name: str) -> None:
    build, src, _ = ENDS[name]
    topo = build()
    net = settled(topo)
    msg_id = net.send(src, ALL_HANDS, FrameType.TEXT, text("all hands"))
    net.run_for(1.0)
    assert who_delivered(net, src, msg_id) == {n: 1 for n in topo.addresses if n != src}


def test_team_group_reaches_members_only() -> None:
    topo = two_tier()
    net = settled(topo)
    team = TEAMS[1]
    # From outside the team (a backbone node), and from a member at the far end of it.
    for src in (0x0501, team_members(team)[2]):
        msg_id = net.send(src, team_group(team), FrameType.TEXT, text("team 0x12"))
        net.run_for(1.0)
        members = {m: 1 for m in team_members(team) if m != src}
        assert who_delivered(net, src, msg_id) == members


def test_lossy_links_deliver_every_text_exactly_once() -> None:
    """10 % loss on every hop: custody sends again, duplicate suppression keeps it once."""
    topo = line(5)
    topo.links[:] = [replace(link, loss=0.1) for link in topo.links]
    net = settled(topo, seed=8)
    flow = Flow(net, 0x0101, 0x0105, until=net.now + 1.0, every=0.02).start()
    net.run_for(40.0)
    assert flow.lost() == []
    assert flow.duplicates() == 0
    assert max(flow.latencies()) > 1.0  # some were indeed sent again (custody timeout 2 s)


def test_message_sent_before_any_route_is_held_then_delivered_once() -> None:
    topo = line(5)
    net = topo.build(seed=3)
    src, dst = 0x0101, 0x0105
    msg_id = net.send(src, dst, FrameType.TEXT, text("early"))
    assert route(net.engines[src], dst) is None
    net.run_for(0.01)
    assert not net.received
    while route(net.engines[src], dst) is None:
        assert net.now < net.mission.start + SETTLE_S, "no route after the settle time"
        net.run_for(0.01)
    route_at = net.now
    net.run_for(SETTLE_S)
    assert [r.node for r in net.received] == [dst]  # once, and nothing else
    (got,) = copies(net, src, msg_id)
    assert got.at <= route_at + 0.05  # leaves with the route, not at some later timer


def test_unicast_hop_limit() -> None:
    """A frame received with hop limit 0 is delivered but not forwarded: a hop limit of h
    reaches h + 1 hops. A custody message that falls short is not lost: its last custodian
    retries after its custody timeout (2 s) with its own hop limit (SPEC.md §9.3.1)."""
    src, dst = 0x0101, 0x0105  # 4 hops apart
    net = settled(line(5), hop_limit=3)
    msg_id = net.send(src, dst, FrameType.TEXT, text("4 hops"))
    net.run_for(1.0)
    assert who_delivered(net, src, msg_id) == {dst: 1}

    net = settled(line(5), hop_limit=2)
    msg_id = net.send(src, dst, FrameType.TEXT, text("4 hops"))
    net.run_for(1.0)
    assert who_delivered(net, src, msg_id) == {}
    assert net.engines[0x0104].counters["hop_limit_reached"] == 1
    assert net.engines[0x0104].counters["custody_taken"] == 0
    net.run_for(10.0)
    assert who_delivered(net, src, msg_id) == {dst: 1}
    assert net.engines[0x0104].counters["custody_returned"] == 1  # taken on the retry
    assert all(len(e.custody) == 0 for e in net.engines.values())

    net = settled(line(5), hop_limit=2)  # without custody, nothing retries
    net.send(src, dst, FrameType.POSITION, position(1))
    net.run_for(10.0)
    assert deliveries(net, dst) == []
    assert net.engines[0x0104].counters["hop_limit_reached"] == 1


def test_flood_hop_limit() -> None:
    net = settled(line(5), hop_limit=1)
    msg_id = net.send(0x0101, ALL_HANDS, FrameType.TEXT, text("near"))
    net.run_for(1.0)
    assert who_delivered(net, 0x0101, msg_id) == {0x0102: 1, 0x0103: 1}
