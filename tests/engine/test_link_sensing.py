"""Link sensing (SPEC.md §8.1): who counts as a usable neighbour, and for how long."""

from __future__ import annotations

import random

import pytest

from tacmesh.protocol.addresses import Role
from tacmesh.protocol.crypto.suite import IP_TAG_LEN
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.heard import pack, unpack
from tacmesh.protocol.pb import control_pb2
from tacmesh.sim.mini import MiniNet

A, B = 0x0001, 0x0002


def pair(a_hello_s: float = 0.5, b_hello_s: float = 0.5) -> MiniNet:
    net = MiniNet(seed=1)
    net.add_node(A, [InterfaceConfig("to0002", hello_interval_s=a_hello_s)])
    net.add_node(B, [InterfaceConfig("to0001", hello_interval_s=b_hello_s)])
    net.connect(A, "to0002", B, "to0001")
    return net


def test_one_way_link_is_not_used() -> None:
    net = pair()
    (b_to_a,) = net.links[(B, "to0001")]
    b_to_a.up = False  # A never hears B; B hears A, but A never lists B as heard
    net.run_for(10.0)
    assert net.engines[A].control.neighbours.get(("to0002", B)) is None
    assert net.engines[B].control.neighbours.get(("to0001", A)) is not None
    assert net.engines[B].control.routing.lookup(A) is None


def test_neighbour_with_a_longer_hello_interval_is_never_lost() -> None:
    """A short hello (no interval_ms) leaves the neighbour's announced 2 s interval in
    force: dead_after counts the neighbour's own intervals (SPEC.md §8.1.1, §8.1.3)."""
    net = pair(a_hello_s=0.5, b_hello_s=2.0)
    net.run_for(5.0)
    for _ in range(400):  # 20 s in 50 ms steps
        net.run_for(0.05)
        assert net.engines[A].control.neighbours.get(("to0002", B)) is not None, net.now


def test_new_neighbour_gets_a_full_hello_at_once() -> None:
    """Not at the next scheduled hello, which on narrowband is up to 30 s away."""
    net = MiniNet(seed=1)  # engines driven by hand: no links, no event loop
    a = net.add_node(A, [InterfaceConfig("to0002")])
    b = net.add_node(B, [InterfaceConfig("to0001")])
    now = b.next_deadline()
    b.handle_timer(now)
    (hello,) = b.pop_transmits()
    a.receive(now, "to0002", hello.data)
    bodies = [b.codec.receive(t.data, tag_len=IP_TAG_LEN, now=now).body for t in a.pop_transmits()]
    heard = [
        {address for address, _ in unpack(body.heard)}
        for body in bodies
        if isinstance(body, control_pb2.Hello)
    ]
    assert {B} in heard


def _hello(seqno: int, heard: int | None = None) -> control_pb2.Hello:
    hello = control_pb2.Hello(seqno=seqno, interval_ms=500)
    if heard is not None:
        hello.heard = pack([(heard, 255)])
    return hello


def test_a_neighbour_back_soon_after_timing_out_carries_no_route_until_it_proves_steady() -> None:
    from tacmesh.protocol.engine.neighbours import PROBATION_HELLOS, NeighbourTable

    iface = InterfaceConfig("air")
    table = NeighbourTable(0x0101)
    n, _ = table.on_hello(0.0, iface, 0x0202, _hello(1, heard=0x0101))
    assert n.cost < 0xFFFF  # a first meeting is usable at once
    assert [x.address for x in table.expire(2.0, {"air": iface})] == [0x0202]
    n, _ = table.on_hello(3.0, iface, 0x0202, _hello(5, heard=0x0101))
    assert n.cost == 0xFFFF  # back within the memory: on probation
    seqno = 5
    for k in range(PROBATION_HELLOS):
        seqno += 1
        n, changed = table.on_hello(3.0 + 0.5 * (k + 1), iface, 0x0202, _hello(seqno, 0x0101))
    assert changed and n.cost < 0xFFFF  # eight clean hellos: usable again


def test_a_flaky_neighbour_stays_on_probation() -> None:
    from tacmesh.protocol.engine.neighbours import NeighbourTable

    iface = InterfaceConfig("air")
    table = NeighbourTable(0x0101)
    table.on_hello(0.0, iface, 0x0202, _hello(1, heard=0x0101))
    table.expire(2.0, {"air": iface})
    n, _ = table.on_hello(3.0, iface, 0x0202, _hello(2, heard=0x0101))
    for k in range(16):  # every other hello lost: 50 % reception, below the 75 % it needs
        n, _ = table.on_hello(3.0 + k, iface, 0x0202, _hello(4 + 2 * k, heard=0x0101))
    assert n.cost == 0xFFFF


@pytest.mark.parametrize("seed", range(1, 9))
def test_a_node_restarted_before_it_is_missed_learns_routes_at_once(seed: int) -> None:
    """B loses power for 0.3 s, less than its neighbours' dead_after (1.25 s), so to them
    the link never fell; its fresh_start hellos still get it their tables within a few
    hello intervals, not at the periodic update 90 s later (SPEC.md §8.1.5)."""
    a, b, c = 0x0101, 0x0102, 0x0103
    net = MiniNet(seed=seed)
    for node, ifaces in ((a, ["e"]), (b, ["w", "e"]), (c, ["w"])):
        net.add_node(node, [InterfaceConfig(name) for name in ifaces])
    net.connect(a, "e", b, "w")
    net.connect(b, "e", c, "w")
    net.run_for(5.0)
    old = net.engines[b]
    net.kill(b)
    net.run_for(0.3)
    codec = net.mission.enrol(b, Role.GROUND_BACKBONE)
    net.engines[b] = NodeEngine(old.config, codec, random.Random(seed), net.now,
                                counter=old.counter + 1000)  # fmt: skip
    net.alive.add(b)
    net.do(b, lambda engine, now: engine.handle_timer(now))
    net.run_for(2.0)
    routes = net.engines[b].control.routing
    assert routes.lookup(a) is not None and routes.lookup(c) is not None


def test_after_its_own_link_down_a_node_is_heard_again_within_two_hellos() -> None:
    """A forgets B on the OS's link-down while B never missed A: A's fresh_start hellos
    bring B's full hello and table at once, not at B's next scheduled full hello (8
    intervals away) (SPEC.md §8.1.5)."""
    a, b = 0x0101, 0x0102
    net = MiniNet(seed=3)
    net.add_node(a, [InterfaceConfig("e", hello_interval_s=4.0)])
    net.add_node(b, [InterfaceConfig("w", hello_interval_s=4.0)])
    net.connect(a, "e", b, "w")
    net.run_for(20.0)
    net.do(a, lambda engine, now: engine.link_down(now, "e"))
    assert net.engines[a].control.routing.lookup(b) is None
    net.run_for(8.5)
    assert net.engines[a].control.routing.lookup(b) is not None


def _heard_at(address: int, rx_quality: int, seqno: int) -> control_pb2.Hello:
    hello = control_pb2.Hello(seqno=seqno, interval_ms=500)
    hello.heard = pack([(address, rx_quality)])
    return hello


def test_the_cost_in_use_follows_the_measured_one_only_by_an_eighth_or_more() -> None:
    """SPEC.md §8.1.2: a wobble of the measured cost moves no route; a real change, or a
    link becoming unusable, does at once."""
    from tacmesh.protocol.engine.neighbours import NeighbourTable, measured_cost

    iface = InterfaceConfig("air")
    table = NeighbourTable(0x0101)
    n, changed = table.on_hello(0.0, iface, 0x0202, _heard_at(0x0101, 255, 1))
    assert changed and n.cost == iface.cost
    # The neighbour hears 240/255 of us: the measured cost rises by 6 %, not enough.
    n, changed = table.on_hello(0.5, iface, 0x0202, _heard_at(0x0101, 240, 2))
    assert not changed and n.cost == iface.cost
    assert measured_cost(iface, n) > iface.cost
    # 220/255: 16 % above the cost in use, which now follows.
    n, changed = table.on_hello(1.0, iface, 0x0202, _heard_at(0x0101, 220, 3))
    assert changed and n.cost == measured_cost(iface, n) > iface.cost
    # The neighbour stops hearing us: unusable at once, however small the step.
    n, changed = table.on_hello(1.5, iface, 0x0202, _hello(4))  # full hello, we are absent
    assert changed and n.cost == 0xFFFF
