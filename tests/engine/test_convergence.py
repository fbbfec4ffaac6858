"""Routes converge to cheapest paths (SPEC.md §8.2): every node reaches every address and
every announced prefix, and the next hops it chose add up to a Dijkstra distance."""

from __future__ import annotations

import pytest

from engine.topologies import (
    SETTLE_S,
    Topology,
    cheap_detour,
    grid,
    iface_name,
    line,
    path_cost,
    ring,
    route,
    two_tier,
    walk,
)
from tacmesh.protocol.engine.config import COST_IP, COST_NARROWBAND
from tacmesh.sim.mini import MiniNet

TOPOLOGIES = {
    "line5": lambda: line(5),
    "ring6": lambda: ring(6),
    "grid4x4": lambda: grid(4, 4),
    "two_tier": two_tier,
}


@pytest.fixture(scope="module", params=sorted(TOPOLOGIES))
def settled(request: pytest.FixtureRequest) -> tuple[Topology, MiniNet]:
    topo = TOPOLOGIES[request.param]()
    net = topo.build(seed=7)
    net.run_for(SETTLE_S)
    return topo, net


def test_every_node_routes_to_every_address_by_a_cheapest_path(
    settled: tuple[Topology, MiniNet],
) -> None:
    topo, net = settled
    for src in topo.addresses:
        dist = topo.distances(src)
        for dst in topo.addresses:
            if dst == src:
                continue
            sel = route(net.engines[src], dst)
            assert sel is not None, f"0x{src:04x} has no route to 0x{dst:04x}"
            path = walk(net, src, dst)  # raises on a loop
            assert path[-1] == dst, f"0x{src:04x} -> 0x{dst:04x} stops at {path}"
            assert len(path) - 1 < len(topo.nodes)
            assert sel.metric == path_cost(topo, path) == dist[dst]


def test_every_node_routes_to_every_prefix(settled: tuple[Topology, MiniNet]) -> None:
    topo, net = settled
    for prefix, gateway in topo.prefixes.items():
        unassigned = prefix.base | 0xFE  # no node has it: only the prefix route matches
        for src in topo.addresses:
            sel = route(net.engines[src], unassigned)
            assert sel is not None and sel.prefix == prefix
            path = walk(net, src, unassigned)
            assert path[-1] == gateway
            assert sel.metric == path_cost(topo, path) == topo.distances(src)[gateway]


def test_two_tier_teams_are_reached_through_their_gateway_and_uav() -> None:
    """A sanity check of the fixture itself: the air path is the cheap one between teams."""
    topo = two_tier()
    net = topo.build(seed=3)
    net.run_for(SETTLE_S)
    assert walk(net, 0x1103, 0x1303) == [0x1103, 0x1102, 0x0401, 0x0601, 0x0403, 0x1302, 0x1303]


def test_two_cheap_hops_beat_one_expensive_hop() -> None:
    topo = cheap_detour()
    net = topo.build(seed=2)
    net.run_for(SETTLE_S)
    a, b, c = topo.addresses
    # The narrowband hop is up and usable: the IP path wins on cost, not by default.
    direct = net.engines[a].control.neighbours.get((iface_name(c), c))
    assert direct is not None
    assert direct.cost == COST_NARROWBAND
    for src, dst in ((a, c), (c, a)):
        assert walk(net, src, dst) == [src, b, dst]
        sel = route(net.engines[src], dst)
        assert sel is not None and sel.metric == 2 * COST_IP
