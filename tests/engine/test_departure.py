"""Planned departure (SPEC.md §8.3): a relay that announces it will leave has its routes
moved away while it still forwards, so its leaving costs no packet."""

from __future__ import annotations

import pytest

from engine.topologies import SETTLE_S, UAV1, Flow, route, two_tier, walk
from tacmesh.protocol.frame_types import FrameType
from tacmesh.sim import backbone
from tacmesh.sim.backbone import GW1, GW2, RELAY, S1, S2
from tacmesh.sim.mini import MiniNet

NOTICE_S = 2.0
CROSSING_UAV1 = [(0x0401, 0x0403), (0x1101, 0x1301), (0x1103, 0x1303), (0x1303, 0x1103)]
"""Gateway to gateway, handheld to handheld, and two hops behind each gateway."""


def announce(net: MiniNet, node: int, in_s: float) -> None:
    net.do(node, lambda engine, now: engine.announce_departure(now, in_s))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_backbone_planned_handoff_loses_nothing(seed: int) -> None:
    assert backbone.planned_handoff(seed) == 0


def test_backbone_handoff_loses_no_position_report() -> None:
    """Positions travel without custody: nothing would send a lost one again."""
    net = backbone.build(seed=4)
    net.run_for(backbone.SETTLE_S)
    flow = Flow(net, GW1, GW2, until=net.now + 3.0, ftype=FrameType.POSITION).start()
    net.run_for(0.5)
    announce(net, RELAY, 1.0)
    net.at(net.now + 1.0, lambda: net.kill(RELAY))
    net.run_for(3.0)
    assert walk(net, GW1, GW2) == [GW1, S1, S2, GW2]
    assert flow.lost() == []


def uav_leaves(seed: int) -> tuple[MiniNet, list[Flow]]:
    net = two_tier().build(seed=seed)
    net.run_for(SETTLE_S)
    for src, dst in CROSSING_UAV1:
        assert UAV1 in walk(net, src, dst)
    until = net.now + 2 * NOTICE_S
    flows = [Flow(net, src, dst, until=until).start() for src, dst in CROSSING_UAV1]
    net.run_for(1.0)
    announce(net, UAV1, NOTICE_S)
    net.at(net.now + NOTICE_S, lambda: net.kill(UAV1))
    net.run_for(2 * NOTICE_S)
    return net, flows


@pytest.mark.parametrize("seed", [1, 2])
def test_uav_departure_loses_and_delays_nothing(seed: int) -> None:
    net, flows = uav_leaves(seed)
    for flow in flows:
        assert flow.lost() == []
        assert flow.duplicates() == 0
        # Nothing waited for a custody timeout (2 s): no frame was lost on the way.
        assert max(flow.latencies()) < 0.1
        assert UAV1 not in walk(net, flow.src, flow.dst)


def test_uav_departure_leaves_no_node_without_a_route() -> None:
    """Downstream of the UAV's neighbour nobody retracts during the hand-off: a metric rise
    under the old seqno would be unfeasible for the handhelds behind gateway 0x0401, and
    they would have no route for a request round trip (SPEC.md §8.3)."""
    net = two_tier().build(seed=1)
    net.run_for(SETTLE_S)
    paths = {(src, dst): walk(net, src, dst)[:-1] for src, dst in CROSSING_UAV1}
    announce(net, UAV1, NOTICE_S)
    for _ in range(200):  # 0.2 s in 1 ms steps: the request round trip and then some
        net.run_for(0.001)
        for (_, dst), path in paths.items():
            for node in path:  # every node on the way keeps a route, through UAV1 or not
                assert route(net.engines[node], dst) is not None, f"0x{node:04x} at {net.now}"
    assert UAV1 not in walk(net, 0x1103, 0x1303)


def test_uav_departure_drops_no_relayed_position() -> None:
    """The consequence of the above for traffic without custody: handhelds 0x1102 and
    0x1302 relay positions and must never drop one for lack of a route."""
    net = two_tier().build(seed=1)
    net.run_for(SETTLE_S)
    for src, dst in ((0x1103, 0x1303), (0x1303, 0x1103)):
        Flow(net, src, dst, until=net.now + 0.3, every=0.002, ftype=FrameType.POSITION).start()
    net.run_for(0.1)
    announce(net, UAV1, NOTICE_S)
    net.run_for(0.3)
    assert sum(engine.counters["no_route"] for engine in net.engines.values()) == 0
