"""The routing table's own bookkeeping: longest-prefix match (``lookup``) against a plain
scan of the table, and the two views of learned routes (by prefix, by neighbour) in step
through a run with failures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.neighbours import INFINITY
from tacmesh.protocol.engine.routing import RoutingTable, Selected

from .topologies import grid

ME = 0x0100


@st.composite
def routes(draw: st.DrawFn) -> list[Selected]:
    out = []
    for _ in range(draw(st.integers(0, 24))):
        length = draw(st.sampled_from([0, 4, 8, 12, 15, 16]))
        base = draw(st.integers(0, 0xDFFF)) >> (16 - length) << (16 - length)
        metric = draw(st.sampled_from([0, 96, 300, INFINITY]))
        via = draw(st.sampled_from([None, ("air", 0x0200), ("lora", 0x1003)]))
        out.append(Selected(Prefix(base, length), 0x0300, 1, metric, via))
    return out


def scan(table: RoutingTable, address: int) -> Selected | None:
    best: Selected | None = None
    for prefix, sel in table.selected.items():
        if sel.via is None and prefix.length == 0:
            continue
        usable = sel.metric < INFINITY and prefix.contains(address)
        if usable and (best is None or prefix.length > best.prefix.length):
            best = sel
    return best


@given(routes(), st.integers(1, 0xDFFF), st.booleans())
def test_lookup_is_the_longest_usable_match(
    selected: list[Selected], address: int, gateway: bool
) -> None:
    table = RoutingTable(ME, (Prefix(0x1000, 8),), serves_default=gateway)
    for sel in selected:
        if sel.prefix in table.own:
            continue
        table.selected[sel.prefix] = sel
        table._note_length(sel.prefix)
    assert table.lookup(address) == scan(table, address)


def test_routes_by_prefix_and_by_neighbour_stay_the_same_routes_through_failures() -> None:
    topo = grid(3, 3)
    net = topo.build(seed=5)
    net.run_for(10.0)
    a, b, c = topo.addresses[4], topo.addresses[1], topo.addresses[5]
    net.kill(a)  # silent: neighbours time it out
    net.run_for(5.0)
    net.cut(b, c, signal=True)
    net.run_for(200.0)  # past the route hold time: expired routes go too
    for address, engine in net.engines.items():
        if address == a:
            continue
        routing = engine.control.routing
        by_prefix = {(p, v): r for p, routes in routing.learned.items() for v, r in routes.items()}
        by_via = {(p, v): r for v, routes in routing.through.items() for p, r in routes.items()}
        assert by_prefix == by_via and by_prefix, hex(address)
        assert all(by_prefix[k] is by_via[k] for k in by_prefix)
        assert all(v != ("", a) and v[1] != a for _, v in by_prefix)  # the dead are forgotten
        assert all(routing.through.values())  # no empty entries left behind
