"""The packed heard list of a full hello (SPEC.md §8.1.1, protocol/heard.py)."""

from __future__ import annotations

import pytest
from conftest import Mission
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.dissect import dissect_frame
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.heard import ENTRY_LEN, check, pack, qualities, quality_for, unpack
from tacmesh.protocol.pb import control_pb2
from tacmesh.protocol.priority import Priority

ADDRESSES = st.integers(0, 0xFFFF)
QUALITIES = st.integers(0, 255)


@given(st.dictionaries(ADDRESSES, QUALITIES, max_size=40))
def test_a_list_packs_and_unpacks_and_each_neighbour_finds_its_quality(
    heard: dict[int, int],
) -> None:
    packed = pack(heard.items())
    assert len(packed) == ENTRY_LEN * len(heard)
    assert dict(unpack(packed)) == heard
    assert qualities(packed) == heard
    for address, quality in heard.items():
        assert quality_for(packed, address) == quality


@given(st.dictionaries(ADDRESSES, QUALITIES, max_size=40), ADDRESSES)
def test_an_address_not_listed_reads_zero_even_where_its_bytes_straddle_entries(
    heard: dict[int, int], address: int
) -> None:
    """A quality byte and the next address's first byte can spell another address: only
    whole entries count (the link is one-way for an address that is not listed)."""
    heard.pop(address, None)
    assert quality_for(pack(heard.items()), address) == 0
    assert address not in qualities(pack(heard.items()))


def test_bytes_across_two_entries_are_not_an_entry() -> None:
    packed = pack([(0x0112, 0x34), (0x5600, 0x01)])  # 01 12 34 56 00 01
    assert quality_for(packed, 0x1234) == 0  # "12 34" sits across the first entry
    assert quality_for(packed, 0x3456) == 0  # "34 56" across the two
    assert quality_for(packed, 0x5600) == 0x01


@pytest.mark.parametrize("size", [1, 2, 4, 5, 7])
def test_a_list_of_torn_entries_is_a_malformed_body(size: int) -> None:
    with pytest.raises(FrameError) as err:
        check(bytes(size))
    assert err.value.reason is Reject.MALFORMED_BODY


def test_the_dissector_reads_a_heard_list_as_neighbours(mission: Mission) -> None:
    node = mission.relay
    hello = control_pb2.Hello(seqno=9, interval_ms=30000, heard=pack([(0x1201, 250), (0x0A01, 0)]))
    header = Header(FrameType.HELLO, Priority.CONTROL, 0, 0, node.address, 5, 0xFFFF, 0xFFFF)
    data = node.codec.encode(header, hello, tag_len=4)
    d = dissect_frame(data, tag_len=4, keyring=node.codec.keyring)
    assert d.body == "Hello {seqno: 9 interval_ms: 30000 heard: [0x1201 q250, 0x0a01 q0]}"
