"""Store-and-forward with custody (SPEC.md §9): partitions, full stores, lifetimes, ages."""

from __future__ import annotations

from delivery.lines import A, B, C, line
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.pb import messages_pb2
from tacmesh.sim.mini import MiniNet


def texts_at(net: MiniNet, node: int) -> list[str]:
    return [r.delivery.message.body.body for r in net.received if r.node == node]


def test_messages_sent_during_a_partition_arrive_once_after_it_heals() -> None:
    net = line()
    net.cut(B, C, signal=True)
    for n in range(10):
        net.send(A, C, FrameType.TEXT, messages_pb2.Text(body=f"msg {n}"))
    net.run_for(30)
    assert texts_at(net, C) == []
    net.heal(B, C)
    net.run_for(30)
    assert sorted(texts_at(net, C)) == sorted(f"msg {n}" for n in range(10))
    assert len(net.engines[A].custody) == 0 and len(net.engines[B].custody) == 0


def test_a_relay_holds_custody_across_a_silent_partition() -> None:
    net = line()
    net.cut(B, C, signal=False)  # B learns of it only when C's hellos stop
    for n in range(5):
        net.send(A, C, FrameType.TEXT, messages_pb2.Text(body=f"m{n}"))
    net.run_for(0.1)
    assert net.engines[B].counters["custody_taken"] == 5  # A handed them over at once
    assert len(net.engines[A].custody) == 0
    net.run_for(60)
    net.heal(B, C)
    net.run_for(30)
    assert sorted(texts_at(net, C)) == [f"m{n}" for n in range(5)]
    assert len(net.engines[B].custody) == 0


def test_a_full_store_refuses_custody_and_the_sender_keeps_the_rest() -> None:
    net = line(store_capacity=2)
    net.cut(B, C, signal=False)
    for n in range(5):
        net.send(A, C, FrameType.TEXT, messages_pb2.Text(body=f"m{n}"))
    net.run_for(0.1)
    assert len(net.engines[B].custody) == 2
    assert len(net.engines[A].custody) == 3
    assert net.engines[A].counters["custody_refused"] == 3
    net.heal(B, C)
    net.run_for(120)
    assert sorted(texts_at(net, C)) == [f"m{n}" for n in range(5)]


def test_messages_expire_within_their_lifetime() -> None:
    net = line()
    net.cut(B, C, signal=True)
    net.send(A, C, FrameType.TEXT, messages_pb2.Text(body="short"), lifetime_s=5)
    net.send(A, C, FrameType.TEXT, messages_pb2.Text(body="long"), lifetime_s=600)
    net.run_for(30)
    net.heal(B, C)
    net.run_for(30)
    assert texts_at(net, C) == ["long"]
    # whichever node held it (A, or B if it took custody before the news of the cut)
    assert sum(net.engines[n].custody.dropped["expired"] for n in (A, B)) == 1


def test_the_age_of_a_held_message_travels_with_it() -> None:
    net = line()
    net.cut(B, C, signal=False)
    net.send(A, C, FrameType.TEXT, messages_pb2.Text(body="late"))
    net.run_for(40)
    net.heal(B, C)
    net.run_for(20)
    (got,) = [r for r in net.received if r.node == C]
    sent_age = got.delivery.message.header.age_s
    assert sent_age is not None and 40 <= sent_age <= got.at - net.mission.start


def test_a_message_that_spent_its_hop_limit_in_a_loop_is_still_delivered_once() -> None:
    """A transient loop (SPEC.md §8.2.2.1) sends a custody message round and round, each
    node taking it back (§9.3), until its hop limit is spent. No node may take custody of
    it then (it could never pass it on); the last custodian keeps it and, once the loop
    is gone, retries with its own hop limit (§9.3.1), so it arrives, once."""
    net = line()
    routes = net.engines[B].control.routing
    to_c = routes.lookup(C)
    assert to_c is not None and to_c.via == ("c", C)
    to_c.via = ("a", A)  # B's stale route: back through A, whose route is through B
    net.send(A, C, FrameType.TEXT, messages_pb2.Text(body="round"))
    net.run_for(0.5)  # 8 hops of 2 ms: the hop limit is spent long before
    spent = sum(net.engines[n].counters["hop_limit_reached"] for n in (A, B))
    assert spent == 1
    assert net.engines[A].counters["custody_returned"] >= 3
    assert texts_at(net, C) == []
    to_c.via = ("c", C)  # the next update would mend it; mended at once here
    net.run_for(30)
    assert texts_at(net, C) == ["round"]
    assert len(net.engines[A].custody) == 0 and len(net.engines[B].custody) == 0
