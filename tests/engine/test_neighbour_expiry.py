"""The neighbour table's next death (SPEC.md §8.1.3) is exact: the soonest time any
neighbour falls silent for too long, through every order of hellos, data, losses and
link-downs. It is kept as a heap of stale and current entries, so it is checked here
against a scan of the table."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.neighbours import NeighbourTable
from tacmesh.protocol.pb import control_pb2

ME = 0x0101
IFACES = {
    "air": InterfaceConfig("air", hello_interval_s=1.0),
    "lora": InterfaceConfig.narrowband("lora"),
}

step = st.one_of(
    st.tuples(st.just("hello"), st.sampled_from(sorted(IFACES)), st.integers(1, 6),
              st.sampled_from([0, 500, 1000, 4000])),
    st.tuples(st.just("data"), st.sampled_from(sorted(IFACES)), st.integers(1, 6), st.just(0)),
    st.tuples(st.just("drop"), st.sampled_from(sorted(IFACES)), st.integers(0, 6), st.just(0)),
    st.tuples(st.just("expire"), st.just(""), st.just(0), st.just(0)),
)  # fmt: skip


def _scan(table: NeighbourTable) -> float | None:
    deaths = [n.dead_at(IFACES[n.interface]) for n in table]
    return min(deaths, default=None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 20.0), step), max_size=60))
def test_the_next_death_is_the_soonest_of_the_table(script: list) -> None:
    table = NeighbourTable(ME)
    now, seqnos = 0.0, dict[tuple[str, int], int]()
    for gap, (kind, name, address, interval_ms) in script:
        now += gap
        if kind == "hello":
            seqnos[(name, address)] = seqnos.get((name, address), 0) + 1
            hello = control_pb2.Hello(seqno=seqnos[(name, address)], interval_ms=interval_ms)
            table.on_hello(now, IFACES[name], address, hello)
        elif kind == "data":
            table.heard_frame(now, IFACES[name], address)
        elif kind == "drop":
            table.drop(name, address or None)
        else:
            lost = table.expire(now, IFACES)
            assert all(now >= n.dead_at(IFACES[n.interface]) for n in lost)
            assert all(now < n.dead_at(IFACES[n.interface]) for n in table)
        assert table.next_expiry(IFACES) == _scan(table)


def test_a_neighbour_heard_in_time_costs_no_wake_up_at_its_old_death() -> None:
    """The deadline moves with the hellos: no processing step at a death put off."""
    iface = IFACES["air"]
    table = NeighbourTable(ME)
    table.on_hello(0.0, iface, 0x0202, control_pb2.Hello(seqno=1, interval_ms=1000))
    first = table.next_expiry(IFACES)
    table.on_hello(1.0, iface, 0x0202, control_pb2.Hello(seqno=2))
    assert first is not None and table.next_expiry(IFACES) == first + 1.0
