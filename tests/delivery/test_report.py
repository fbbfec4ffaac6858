"""Management data (SPEC.md §11): the report says what the engine actually holds."""

from __future__ import annotations

from delivery.lines import A, B, C, line
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.report import mgmt_report, report
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.messages import decode_body, encode_body
from tacmesh.protocol.pb import messages_pb2
from tacmesh.sim.mini import MiniNet


def test_report_lists_neighbours_routes_queues_and_held_messages() -> None:
    net = line(seed=4)
    net.cut(B, C, signal=True)
    net.send(A, C, FrameType.TEXT, messages_pb2.Text(body="wait"))
    net.run_for(1)
    r = report(net.engines[B], net.now)
    assert r.address == "0x0102"
    assert {(n.interface, n.address) for n in r.neighbours} == {("a", "0x0101")}
    assert all(n.cost == 96 for n in r.neighbours)
    routes = {row.prefix: row for row in r.routes}
    assert routes["0x0101/16"].via == "a/0x0101" and routes["0x0101/16"].metric == 96
    assert routes["0x0102/16"].via is None and routes["0x0102/16"].metric == 0
    held = report(net.engines[A], net.now).held_messages + r.held_messages
    assert held == 1  # the text waits at A or B for the link to return
    assert r.as_dict()["counters"] == dict(net.engines[B].counters)


def test_mgmt_report_round_trips_on_the_wire() -> None:
    net = MiniNet(seed=4)
    net.add_node(A, [InterfaceConfig("b")])
    net.add_node(B, [InterfaceConfig("a")])
    net.connect(A, "b", B, "a")
    net.run_for(10)
    body = mgmt_report(net.engines[A], net.now, uptime_s=10)
    again = decode_body(FrameType.MGMT_REPORT, encode_body(FrameType.MGMT_REPORT, body))
    assert again == body
    assert [n.address for n in body.neighbours] == [B]
    assert body.routes == 2


def test_prefix_withdrawal_travels_as_fast_as_an_announcement() -> None:
    from tacmesh.protocol.addresses import Prefix

    net = line(seed=6)
    team = Prefix(0x1200, 8)
    net.do(C, lambda engine, now: engine.announce_prefix(now, team))
    announced_at = net.now
    while net.engines[A].control.routing.lookup(0x1234) is None:
        net.run_for(0.001)
    took_announce = net.now - announced_at
    net.do(C, lambda engine, now: engine.withdraw_prefix(now, team))
    withdrawn_at = net.now
    while net.engines[A].control.routing.lookup(0x1234) is not None:
        net.run_for(0.001)
    took_withdraw = net.now - withdrawn_at
    assert took_withdraw <= took_announce + 0.001 < 0.05  # two 2 ms hops, no timer involved


def test_a_message_to_this_node_is_delivered_here_at_once() -> None:
    net = line(seed=7)
    net.send(A, A, FrameType.TEXT, messages_pb2.Text(body="note to self"))
    (got,) = [r for r in net.received if r.node == A]
    assert got.delivery.interface == "local" and got.at == net.now
    assert got.delivery.message.body == messages_pb2.Text(body="note to self")
    assert len(net.engines[A].custody) == 0
