"""What a routing update on a shared narrowband channel leaves out (SPEC.md §8.2.3.3): the
route to a neighbour through that neighbour itself, when every other usable neighbour on
the channel hears it, and is heard by it, at 75 % or better (their hellos' heard lists).

Everyone on a LoRa team channel usually hears everyone: each member then announced a route
to each of the others that nobody could use, a quarter of the channel's airtime.
"""

from __future__ import annotations

import itertools
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.neighbours import INFINITY
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.heard import quality_for
from tacmesh.sim.mini import MiniNet

from .topologies import position, walk

A, B, C, D = 0x0101, 0x0102, 0x0103, 0x0104
LORA = InterfaceConfig.narrowband("lora")
SETTLED_S = 200.0
"""Six 30 s hellos: every link usable both ways, every heard list full."""


def team(links: list[tuple[int, int]], *, loss: dict[tuple[int, int], float] | None = None,
         seed: int = 3) -> MiniNet:  # fmt: skip
    net = MiniNet(seed=seed)
    for node in sorted({n for link in links for n in link}):
        net.add_node(node, [LORA])
    for a, b in links:
        net.connect(a, "lora", b, "lora", delay_s=0.001, loss=(loss or {}).get((a, b), 0.0))
    net.run_for(SETTLED_S)
    return net


def host(address: int) -> Prefix:
    return Prefix(address, 16)


def announced(net: MiniNet, node: int, prefixes: set[Prefix] | None = None) -> dict[Prefix, int]:
    """The routes an update from ``node`` on the channel carries: prefix -> metric."""
    entries = net.engines[node].control.advertised("lora", prefixes)
    return {Prefix(e.prefix, 16 - e.host_bits): e.metric for e in entries}


def test_where_everyone_hears_everyone_a_member_announces_only_itself() -> None:
    net = team([(A, B), (A, C), (A, D), (B, C), (B, D), (C, D)])
    for node in (A, B, C, D):
        routes = net.engines[node].control.routing.selected
        assert {host(n) for n in (A, B, C, D)} <= set(routes)  # it knows them all ...
        assert set(announced(net, node)) == {host(node)}  # ... and tells none of them


def test_a_relay_between_two_who_do_not_hear_each_other_announces_both() -> None:
    net = team([(A, B), (B, C)])  # A and C are out of each other's range
    assert set(announced(net, B)) == {host(A), host(B), host(C)}
    # A's only listener is B: no need for the route to B, but C lies beyond it
    assert set(announced(net, A)) == {host(A), host(C)}
    net.send(C, A, FrameType.POSITION, position(1))
    net.run_for(10.0)
    (got,) = [r for r in net.received if r.delivery.message.header.type is FrameType.POSITION]
    assert got.node == A and got.delivery.message.header.transmitter == B


def test_a_neighbour_heard_badly_by_another_is_still_announced() -> None:
    # C and D hear each other a fifth of the time: A's routes to them may help them
    links = [(A, B), (A, C), (A, D), (B, C), (B, D), (C, D)]
    net = team(links, loss={(C, D): 0.8}, seed=4)
    net.run_for(600.0)  # sixteen hellos: the qualities are measured, not first guesses
    seen_by_a = net.engines[A].control.neighbours
    c, d = seen_by_a.get(("lora", C)), seen_by_a.get(("lora", D))
    assert c is not None and d is not None  # what A goes by: their own heard lists
    assert min(quality_for(d.hears, C), quality_for(c.hears, D)) < 191
    assert quality_for(d.hears, B) > 191 and quality_for(c.hears, A) > 191
    assert set(announced(net, A)) == {host(A), host(C), host(D)}
    assert set(announced(net, B)) == {host(B), host(C), host(D)}


def test_a_lost_neighbour_is_retracted_as_before() -> None:
    net = team([(A, B), (A, C), (B, C)])
    assert set(announced(net, A)) == {host(A)}
    net.kill(B)
    net.run_for(4 * 30.0)  # silent for 3.5 hello intervals: lost
    assert net.engines[A].control.neighbours.get(("lora", B)) is None
    assert announced(net, A, {host(B)}) == {host(B): INFINITY}


@st.composite
def connected_teams(draw: st.DrawFn) -> list[tuple[int, int]]:
    """A connected graph of 3-6 members: who hears whom on one channel."""
    nodes = [0x0101 + i for i in range(draw(st.integers(3, 6)))]
    links = {(nodes[i], nodes[draw(st.integers(0, i - 1))]) for i in range(1, len(nodes))}
    pairs = list(itertools.combinations(nodes, 2))
    links |= set(draw(st.lists(st.sampled_from(pairs), max_size=len(pairs))))
    return sorted((min(a, b), max(a, b)) for a, b in links)


def hops(links: list[tuple[int, int]], source: int) -> dict[int, int]:
    near: dict[int, set[int]] = {}
    for a, b in links:
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)
    seen, todo = {source: 0}, deque([source])
    while todo:
        node = todo.popleft()
        for peer in near[node] - set(seen):
            seen[peer] = seen[node] + 1
            todo.append(peer)
    return seen


@settings(max_examples=25, deadline=None)
@given(connected_teams(), st.integers(0, 2**16))
def test_what_is_left_out_never_costs_a_member_its_shortest_route(
    links: list[tuple[int, int]], seed: int
) -> None:
    """Lossless links cost 512 a hop: the route to a neighbour through another always
    costs more than the neighbour's own link, so it may go, and every member still finds
    every other one by the fewest hops."""
    net = team(links, seed=seed)
    net.run_for(300.0)  # past a periodic update: tables as they stay
    for a in net.engines:
        for b, distance in hops(links, a).items():
            path = walk(net, a, b)
            assert path[-1] == b and len(path) - 1 == distance, (a, b, path)
