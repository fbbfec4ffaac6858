"""Longest-prefix match (routing.py ``lookup``) against a plain scan of the table: the
usable route of the longest prefix holding the address, never a node's own default."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.neighbours import INFINITY
from tacmesh.protocol.engine.routing import RoutingTable, Selected

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
