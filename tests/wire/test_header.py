"""Frame header (SPEC.md §4.3) and varints (§4.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.addresses import ALL_HANDS
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import (
    BASE_HEADER_LEN,
    Header,
    decode_header,
    encode_header,
    peek_type,
)
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.varint import MAX_VARINT, decode_varint, encode_varint

unicast = st.integers(0x0001, 0xDFFF)
destinations = unicast | st.integers(0xE000, 0xEFFF) | st.integers(0xF000, 0xF0FF) | st.just(0xFFFF)
u32 = st.integers(0, MAX_VARINT)
origins = st.none() | st.tuples(unicast, u32)


@st.composite
def headers(draw: st.DrawFn, types: st.SearchStrategy[FrameType] | None = None) -> Header:
    origin = draw(origins)
    return Header(
        type=draw(types or st.sampled_from([t for t in FrameType if t is not FrameType.FRAGMENT])),
        priority=draw(st.sampled_from(Priority)),
        hop_limit=draw(st.integers(0, 15)),
        key_phase=draw(st.integers(0, 1)),
        transmitter=draw(unicast),
        counter=draw(u32),
        destination=draw(destinations),
        next_hop=draw(unicast | st.just(ALL_HANDS)),
        origin=None if origin is None else origin[0],
        msg_id=None if origin is None else origin[1],
        age_s=draw(st.none() | u32),
        lifetime_s=draw(st.none() | u32),
        custody=draw(st.booleans()),
        e2e=draw(st.booleans()),
    )


def expected_length(h: Header) -> int:
    ext = [h.origin is not None, h.age_s is not None, h.lifetime_s is not None, h.custody, h.e2e]
    if not any(ext):
        return BASE_HEADER_LEN
    n = BASE_HEADER_LEN + 1 + (6 if h.origin is not None else 0)
    return n + sum(len(encode_varint(v)) for v in (h.age_s, h.lifetime_s) if v is not None)


@given(headers())
def test_header_round_trip(h: Header) -> None:
    data = encode_header(h)
    assert len(data) == expected_length(h) <= 29
    assert decode_header(data) == (h, len(data))
    assert peek_type(data) is h.type


@given(headers(), st.binary(max_size=40))
def test_header_decode_ignores_what_follows(h: Header, tail: bytes) -> None:
    data = encode_header(h)
    assert decode_header(data + tail) == (h, len(data))


def test_header_known_bytes() -> None:
    """The position header of /tmp/smoke.py, byte for byte (SPEC.md §4.3 layout)."""
    h = Header(FrameType.POSITION, Priority.POSITION, 8, 0, 0x0101, 1, 0xE001, 0x0201)
    assert encode_header(h).hex() == "6090010100000001e0010201"
    full = Header(
        FrameType.SOS,
        Priority.SOS,
        15,
        1,
        0x0201,
        0x01020304,
        0x0001,
        0xFFFF,
        origin=0x0101,
        msg_id=7,
        age_s=300,
        lifetime_s=0,
        custody=True,
        e2e=True,
    )
    wire = "67 3f 0201 01020304 0001 ffff f8 0101 00000007 ac02 00"
    assert encode_header(full) == bytes.fromhex(wire)


def test_relayed_makes_origin_explicit() -> None:
    h = Header(FrameType.TEXT, Priority.TEXT, 8, 0, 0x0101, 42, 0x0001, 0x0201)
    assert (h.source, h.message_id) == (0x0101, 42)
    r = h.relayed(0x0201, 7, 0x0001)
    assert (r.transmitter, r.counter, r.next_hop, r.hop_limit) == (0x0201, 7, 0x0001, 7)
    assert (r.origin, r.msg_id, r.source, r.message_id) == (0x0101, 42, 0x0101, 42)
    again = r.relayed(0x0301, 9, 0x0001)
    assert (again.source, again.message_id, again.hop_limit) == (0x0101, 42, 6)


@pytest.mark.parametrize(
    "fields",
    [
        {"hop_limit": 16},
        {"hop_limit": -1},
        {"counter": 2**32},
        {"origin": 0x0101},
        {"msg_id": 1},
        {"origin": 0x0101, "msg_id": 2**32},
        {"origin": 0xE001, "msg_id": 1},
        {"transmitter": 0},
        {"transmitter": 0xE001},
        {"destination": 0},
        {"destination": 0xF100},
        {"next_hop": 0xF001},
    ],
)
def test_encode_refuses_out_of_range_fields(fields: dict[str, int]) -> None:
    base = {
        "type": FrameType.TEXT,
        "priority": Priority.TEXT,
        "hop_limit": 1,
        "key_phase": 0,
        "transmitter": 1,
        "counter": 1,
        "destination": 2,
    }
    with pytest.raises(ValueError):
        encode_header(Header(**{**base, **fields}))  # type: ignore[arg-type]


BASE = bytes.fromhex("6090010100000001e0010201")


def patched(offset: int, value: bytes, data: bytes = BASE) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BASE[:11], Reject.TRUNCATED),
        (b"", Reject.TRUNCATED),
        (patched(0, b"\x20"), Reject.BAD_VERSION),
        (patched(0, b"\xa0"), Reject.BAD_VERSION),
        (patched(0, b"\x00"), Reject.BAD_VERSION),
        (patched(0, bytes([0x40 | 10 << 1])), Reject.UNKNOWN_TYPE),
        (patched(0, bytes([0x40 | 0 << 1])), Reject.UNKNOWN_TYPE),
        (patched(0, bytes([0x40 | 31 << 1])), Reject.UNKNOWN_TYPE),
        (patched(0, bytes([0x40 | 15 << 1])), Reject.BAD_FIELD),
        (patched(1, b"\xf0"), Reject.BAD_FIELD),
        (patched(2, b"\x00\x00"), Reject.BAD_FIELD),
        (patched(2, b"\xe0\x01"), Reject.BAD_FIELD),
        (patched(2, b"\xff\xff"), Reject.BAD_FIELD),
        (patched(8, b"\x00\x00"), Reject.BAD_FIELD),
        (patched(8, b"\xf1\x00"), Reject.BAD_FIELD),
        (patched(8, b"\xff\xfe"), Reject.BAD_FIELD),
        (patched(10, b"\xe0\x01"), Reject.BAD_FIELD),
        (patched(10, b"\xf0\x03"), Reject.BAD_FIELD),
        (patched(10, b"\x00\x00"), Reject.BAD_FIELD),
        (patched(0, b"\x61"), Reject.TRUNCATED),
        (patched(0, b"\x61") + b"\x00", Reject.BAD_FIELD),
        (patched(0, b"\x61") + b"\x81", Reject.RESERVED_BITS),
        (patched(0, b"\x61") + b"\x80\x01\x01\x00\x00", Reject.TRUNCATED),
        (patched(0, b"\x61") + b"\x80\xe0\x01\x00\x00\x00\x01", Reject.BAD_FIELD),
        (patched(0, b"\x61") + b"\x40", Reject.TRUNCATED),
        (patched(0, b"\x61") + b"\x40\x80\x00", Reject.BAD_FIELD),
        (patched(0, b"\x61") + b"\x20\xff\xff\xff\xff\x1f", Reject.BAD_FIELD),
    ],
)
def test_decode_header_rejections(data: bytes, reason: Reject) -> None:
    with pytest.raises(FrameError) as err:
        decode_header(data)
    assert err.value.reason is reason


def test_next_hop_all_hands_and_group_destinations_are_accepted() -> None:
    for dst in (0xE000, 0xEFFF, 0xF000, 0xF0FF, 0xFFFF, 0x0001, 0xDFFF):
        h, _ = decode_header(patched(8, dst.to_bytes(2, "big") + b"\xff\xff"))
        assert (h.destination, h.next_hop) == (dst, ALL_HANDS)


def test_peek_type() -> None:
    assert peek_type(BASE) is FrameType.POSITION
    for data, reason in [(b"", Reject.TRUNCATED), (b"\x00", Reject.BAD_VERSION)]:
        with pytest.raises(FrameError) as err:
            peek_type(data)
        assert err.value.reason is reason


# --- varints ------------------------------------------------------------------------------


@given(u32, st.binary(max_size=4), st.binary(max_size=4))
def test_varint_round_trip(value: int, before: bytes, after: bytes) -> None:
    data = encode_varint(value)
    assert len(data) == max(1, -(-value.bit_length() // 7))
    assert decode_varint(before + data + after, len(before), "v") == (
        value,
        len(before) + len(data),
    )


@pytest.mark.parametrize(
    ("value", "hex_"),
    [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"), (2**32 - 1, "ffffffff0f")],
)
def test_varint_spec_examples(value: int, hex_: str) -> None:
    assert encode_varint(value).hex() == hex_
    assert decode_varint(bytes.fromhex(hex_), 0, "v") == (value, len(hex_) // 2)


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("", Reject.TRUNCATED),
        ("80", Reject.TRUNCATED),
        ("ffffffff", Reject.TRUNCATED),
        ("8000", Reject.BAD_FIELD),
        ("ff8000", Reject.BAD_FIELD),
        ("8080808000", Reject.BAD_FIELD),
        ("ffffffff10", Reject.BAD_FIELD),
        ("ffffffff7f", Reject.BAD_FIELD),
        ("808080808001", Reject.BAD_FIELD),
        ("ffffffffff01", Reject.BAD_FIELD),
    ],
)
def test_varint_rejections(hex_: str, reason: Reject) -> None:
    with pytest.raises(FrameError) as err:
        decode_varint(bytes.fromhex(hex_), 0, "v")
    assert err.value.reason is reason


@pytest.mark.parametrize("value", [-1, 2**32])
def test_varint_encode_refuses_out_of_range(value: int) -> None:
    with pytest.raises(ValueError):
        encode_varint(value)
