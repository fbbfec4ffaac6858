"""Triggered updates on narrowband links carry only significant changes (SPEC.md §8.2.3)."""

from __future__ import annotations

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.routing import RoutingTable
from tacmesh.protocol.pb import control_pb2

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
