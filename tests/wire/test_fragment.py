"""Fragment frames (SPEC.md §4.5): split after protection, join before verification."""

from __future__ import annotations

import pytest
from conftest import HANDHELD, NOW, TEAM_RELAY, Mission
from hypothesis import assume, given
from hypothesis import strategies as st

from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.fragment import (
    FRAGMENT_HEADER_LEN,
    Fragment,
    decode_fragment,
    join,
    split,
)
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority

fragments = st.builds(
    Fragment,
    priority=st.sampled_from(Priority),
    transmitter=st.integers(0x0001, 0xDFFF),
    datagram_tag=st.integers(0, 255),
    index=st.integers(0, 254),
    count=st.integers(1, 255),
    chunk=st.binary(min_size=1, max_size=64),
).filter(lambda f: f.index < f.count)


@given(fragments)
def test_fragment_round_trip(fragment: Fragment) -> None:
    data = fragment.encode()
    assert len(data) == FRAGMENT_HEADER_LEN + len(fragment.chunk)
    assert data[0] == 0x5E  # version 01, type 15, X = 0
    assert decode_fragment(data) == fragment


@given(
    frame=st.binary(min_size=1, max_size=700),
    mtu=st.integers(FRAGMENT_HEADER_LEN + 1, 300),
    priority=st.sampled_from(Priority),
    tag=st.integers(0, 1000),
    order=st.randoms(use_true_random=False),
)
def test_split_then_join_in_any_order(
    frame: bytes, mtu: int, priority: Priority, tag: int, order: object
) -> None:
    assume(-(-len(frame) // (mtu - FRAGMENT_HEADER_LEN)) <= 255)
    pieces = split(frame, mtu, priority=priority, transmitter=HANDHELD, datagram_tag=tag)
    if len(frame) <= mtu:
        assert pieces == [frame]
        return
    assert all(len(p) <= mtu for p in pieces)
    assert all(len(p) == mtu for p in pieces[:-1])
    decoded = [decode_fragment(p) for p in pieces]
    assert {(f.count, f.datagram_tag, f.priority) for f in decoded} == {
        (len(pieces), tag % 256, priority)
    }
    order.shuffle(decoded)  # type: ignore[attr-defined]
    assert join(decoded) == frame


def test_fragmented_frame_is_received_after_join(mission: Mission) -> None:
    h = Header(FrameType.TEXT, DEFAULT_PRIORITY[FrameType.TEXT], 8, 0, HANDHELD, 1, 1, 1)
    text = messages_pb2.Text(body="map tile follows " * 5)
    frame = mission.handheld.codec.encode(h, text, tag_len=4)
    pieces = split(frame, 20, priority=h.priority, transmitter=HANDHELD, datagram_tag=9)
    decoded = [decode_fragment(p) for p in reversed(pieces)]
    codec = mission.command_post.codec
    # A forged chunk spoils the reassembly; the hop tag catches it (and moves no window).
    bad = decoded[0]
    zeros = b"\x00" * len(bad.chunk)
    forged = Fragment(bad.priority, bad.transmitter, 9, bad.index, bad.count, zeros)
    with pytest.raises(FrameError) as err:
        codec.receive(join([forged, *decoded[1:]]), tag_len=4, now=NOW)
    assert err.value.reason is Reject.BAD_TAG
    assert codec.receive(join(decoded), tag_len=4, now=NOW).body == text


def fragment_bytes(
    b0: int = 0x5E, b1: int = 0x80, tx: int = HANDHELD, index: int = 0, count: int = 2
) -> bytes:
    return bytes([b0, b1]) + tx.to_bytes(2, "big") + bytes([7, index, count]) + b"x"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (fragment_bytes()[:-1], Reject.TRUNCATED),
        (b"\x5e", Reject.TRUNCATED),
        (fragment_bytes(b0=0x9E), Reject.BAD_VERSION),
        (fragment_bytes(b0=0x5F), Reject.RESERVED_BITS),  # X set
        (fragment_bytes(b0=0x60), Reject.BAD_FIELD),  # another type
        (fragment_bytes(b1=0x81), Reject.RESERVED_BITS),
        (fragment_bytes(b1=0x90), Reject.RESERVED_BITS),
        (fragment_bytes(b1=0xE0), Reject.BAD_FIELD),  # priority 7
        (fragment_bytes(tx=0), Reject.BAD_FIELD),
        (fragment_bytes(tx=0xE001), Reject.BAD_FIELD),
        (fragment_bytes(tx=0xFFFF), Reject.BAD_FIELD),
        (fragment_bytes(count=0), Reject.BAD_FIELD),
        (fragment_bytes(index=2, count=2), Reject.BAD_FIELD),
        (fragment_bytes(index=255, count=255), Reject.BAD_FIELD),
    ],
)
def test_fragment_rejections(data: bytes, reason: Reject) -> None:
    with pytest.raises(FrameError) as err:
        decode_fragment(data)
    assert err.value.reason is reason


def test_join_rejects_incomplete_or_inconsistent_sets() -> None:
    data = bytes(range(50))
    raw = split(data, 17, priority=Priority.BULK, transmitter=HANDHELD, datagram_tag=3)
    pieces = [decode_fragment(p) for p in raw]
    assert len(pieces) == 5
    assert join([*pieces, pieces[0]]) == data  # a duplicate is harmless
    other_tx = decode_fragment(fragment_bytes(tx=TEAM_RELAY, index=4, count=5))
    other_tag = Fragment(Priority.BULK, HANDHELD, 4, 4, 5, b"x")
    other_count = Fragment(Priority.BULK, HANDHELD, 3, 4, 6, b"x")
    for extra in ([], [other_tx], [other_tag], [other_count]):
        bad = pieces[:-1] + extra
        with pytest.raises(FrameError) as err:
            join(bad)
        assert err.value.reason is Reject.BAD_FIELD, extra
    with pytest.raises(FrameError) as err:
        join([])
    assert err.value.reason is Reject.TRUNCATED


def test_split_refuses_impossible_requests() -> None:
    def pieces(size: int, mtu: int) -> list[bytes]:
        return split(b"x" * size, mtu, priority=Priority.BULK, transmitter=1, datagram_tag=0)

    with pytest.raises(ValueError):
        pieces(20, FRAGMENT_HEADER_LEN)
    with pytest.raises(ValueError):
        pieces(256, FRAGMENT_HEADER_LEN + 1)  # 256 fragments of one byte
    assert len(pieces(255, FRAGMENT_HEADER_LEN + 1)) == 255
