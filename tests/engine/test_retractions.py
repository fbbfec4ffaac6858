"""Lost routes are retracted at once, asked for until they come back, and, once the
retraction went out, forgotten (SPEC.md §8.2.3-4)."""

from __future__ import annotations

from engine.topologies import SETTLE_S, ring, route, walk
from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.neighbours import INFINITY
from tacmesh.sim import backbone
from tacmesh.sim.backbone import GW1, GW2, RELAY, S1, S2

DEAD = 0x0104
UPDATE_S = 2.0
"""A short full-table interval, so that many of them pass in a short test."""


def test_a_dead_node_is_retracted_everywhere() -> None:
    net = ring(6).build(seed=3, update_interval_s=UPDATE_S)
    net.run_for(SETTLE_S)
    net.kill(DEAD)
    net.run_for(2.0)  # detection (1.25 s at most) and the retractions that follow
    for address in net.alive:
        assert route(net.engines[address], DEAD) is None
        sel = net.engines[address].control.routing.selected.get(Prefix(DEAD, 16))
        assert sel is None or sel.metric == INFINITY


def test_a_dead_node_is_forgotten_after_its_retraction_went_out() -> None:
    """Not kept in `selected`, and in every full table, for ever (SPEC.md §8.2.2)."""
    net = ring(6).build(seed=3, update_interval_s=UPDATE_S)
    net.run_for(SETTLE_S)
    net.kill(DEAD)
    net.run_for(10 * UPDATE_S)
    for address in sorted(net.alive):
        assert Prefix(DEAD, 16) not in net.engines[address].control.routing.selected


def test_route_comes_back_through_the_request() -> None:
    """GW1 loses RELAY; S1's route is not feasible for it (same seqno, metric 192 = GW1's
    feasibility distance), so it asks GW2 for a new seqno, and gets the route through S1."""
    net = backbone.build(seed=1)
    net.run_for(backbone.SETTLE_S)
    net.cut(GW1, RELAY, signal=True)
    assert route(net.engines[GW1], GW2) is None
    net.run_for(0.1)
    assert walk(net, GW1, GW2) == [GW1, S1, S2, GW2]


def test_route_comes_back_when_the_request_is_lost() -> None:
    """An unanswered request goes out again: once, a single lost request left GW1 without a
    route for good (S1's route, seqno 0 metric 192, is never feasible against GW1's FD
    (0, 192) without a new seqno)."""
    net = backbone.build(seed=1)
    net.run_for(backbone.SETTLE_S)
    net.cut(GW1, S1, signal=False)  # for 0.3 s: one lost frame, the request, not a lost link
    net.cut(GW1, RELAY, signal=True)
    net.run_for(0.3)
    net.heal(GW1, S1)
    net.run_for(5.0)  # well within an update interval (90 s)
    assert walk(net, GW1, GW2) == [GW1, S1, S2, GW2]
