"""Triggered updates on narrowband links carry only significant changes (SPEC.md §8.2.3)."""

from __future__ import annotations

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.engine.routing import RoutingTable
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.pb import control_pb2
from tacmesh.sim.mini import MiniNet

VIA = ("lora", 0x0202)
TARGET = Prefix(0x0303, 16)


def entry(metric: int, seqno: int = 1) -> control_pb2.RouteEntry:
    return control_pb2.RouteEntry(prefix=TARGET.base, host_bits=0, seqno=seqno, metric=metric)


def table_with_route(cost: int) -> RoutingTable:
    table = RoutingTable(0x0101, ())
    assert table.on_update(0.0, VIA, cost, [entry(512)]) == {TARGET}
    assert TARGET not in table.minor  # a new route is always news
    return table


def test_a_small_wobble_of_link_cost_changes_the_route_but_is_not_news() -> None:
    table = table_with_route(512)
    assert table.on_cost(VIA, 560) == set()  # metric 1024 -> 1072: under a quarter
    assert table.selected[TARGET].metric == 1072  # used at once, told in the next full table
    assert table.on_cost(VIA, 900) == {TARGET}  # 1072 -> 1412: news


def test_a_small_change_heard_in_an_update_is_news_on_ip_but_minor_on_narrowband() -> None:
    table = table_with_route(512)
    assert table.on_update(1.0, VIA, 512, [entry(560)]) == {TARGET}
    assert TARGET in table.minor  # the control plane keeps it off narrowband interfaces


def test_a_large_metric_move_a_new_seqno_or_a_loss_is_significant() -> None:
    table = table_with_route(512)
    table.on_cost(VIA, 1024)  # 1024 -> 1536
    assert TARGET not in table.minor
    table.on_update(1.0, VIA, 1024, [entry(530)])
    assert TARGET in table.minor
    table.on_update(1.0, VIA, 1040, [entry(512, seqno=2)])
    assert TARGET not in table.minor
    table.on_neighbour_lost(VIA)
    assert TARGET not in table.minor


def _updates_after(
    engine: NodeEngine, now: float, entries: list[control_pb2.RouteEntry], cost: int = 96
) -> set[str]:
    """Interfaces that a ROUTE_UPDATE leaves on when ``entries`` arrive from a neighbour
    over a link of ``cost``."""
    control = engine.control
    control.routing.now = now
    control._changed |= control.routing.on_update(now, ("eth", 0x0202), cost, entries)
    return {o.interface for o in control.take() if o.type is FrameType.ROUTE_UPDATE}


def test_on_narrowband_only_news_of_a_source_is_sent_at_once() -> None:
    """A metric moving by more than a quarter is told on IP at once, on narrowband with
    the next periodic update; a new seqno is told on both at once (SPEC.md §8.2.3.1)."""
    net = MiniNet(seed=2)
    me = net.add_node(0x0101, [InterfaceConfig("eth"), InterfaceConfig.narrowband("lora")])
    net.run_for(1.0)
    t = net.now
    assert _updates_after(me, t, [entry(512)]) == {"eth", "lora"}  # a new route: news
    assert _updates_after(me, t + 1, [entry(512)], cost=300) == {"eth"}  # 608 -> 812: not news
    assert _updates_after(me, t + 2, [entry(512, seqno=2)], 300) == {"eth", "lora"}  # new seqno
