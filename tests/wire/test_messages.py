"""Message bodies (SPEC.md §6): every protobuf body round-trips through encode/decode_body.

Strategies are derived from the message descriptors, so a field added to a ``.proto`` file
is covered without touching this file.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.compact import PositionReport, ResponderState, StatusReport, VitalSigns
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.heard import ENTRY_LEN
from tacmesh.protocol.messages import (
    MUST_SIGN,
    PROTOBUF_BODIES,
    body_class,
    decode_body,
    encode_body,
)
from tacmesh.protocol.pb import control_pb2, messages_pb2

F = FieldDescriptor
_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    F.TYPE_UINT32: st.integers(0, 2**32 - 1),
    F.TYPE_FIXED32: st.integers(0, 2**32 - 1),
    F.TYPE_UINT64: st.integers(0, 2**64 - 1),
    F.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    F.TYPE_BOOL: st.booleans(),
    F.TYPE_STRING: st.text(st.characters(codec="utf-8"), max_size=20),
    F.TYPE_BYTES: st.binary(max_size=40),
}


_WHOLE_ENTRIES = st.binary(max_size=40).map(lambda b: b[: len(b) - len(b) % ENTRY_LEN])
_SHAPED: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "tacmesh.v1.Hello.heard": (_WHOLE_ENTRIES, b"\x12\x00\xff\x0a\x01\x00"),
}
"""Fields whose bytes have a layout of their own (strategy, full sample): protobuf takes
any bytes, the decoder refuses a heard list of torn entries (SPEC.md §8.1.1)."""


def field_values(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.full_name in _SHAPED:
        return _SHAPED[field.full_name][0]
    if field.type == F.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    if field.type == F.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    if field.type not in _SCALARS:
        raise AssertionError(f"no strategy for {field.full_name} (type {field.type})")
    return _SCALARS[field.type]


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def messages(desc: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of type ``desc`` with any subset of fields set to any legal value."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        if _is_map(field):
            entry = field.message_type.fields_by_name
            parts[field.name] = st.dictionaries(
                field_values(entry["key"], depth), field_values(entry["value"], depth), max_size=3
            )
        elif field.is_repeated:
            parts[field.name] = st.lists(field_values(field, depth), max_size=3 if depth else 4)
        else:
            parts[field.name] = st.none() | field_values(field, depth)
    cls = GetMessageClass(desc)
    return st.fixed_dictionaries(parts).map(
        lambda kw: cls(**{k: v for k, v in kw.items() if v is not None})
    )


def full_message(desc: Descriptor) -> Message:
    """Every field set to a non-default value (repeated fields twice)."""
    sample: dict[int, Any] = {
        F.TYPE_UINT32: 2**32 - 1,
        F.TYPE_FIXED32: 0xDEADBEEF,
        F.TYPE_UINT64: 2**64 - 1,
        F.TYPE_SINT32: -(2**31),
        F.TYPE_BOOL: True,
        F.TYPE_STRING: "FIRE-1-3 火",
        F.TYPE_BYTES: b"\x00\xff",
    }
    kwargs: dict[str, Any] = {}
    for field in desc.fields:
        if _is_map(field):
            kwargs[field.name] = {"bad_tag": 3, "replayed": 2**64 - 1}
            continue
        if field.type == F.TYPE_ENUM:
            value: Any = field.enum_type.values[-1].number
        elif field.type == F.TYPE_MESSAGE:
            value = full_message(field.message_type)
        elif field.full_name in _SHAPED:
            value = _SHAPED[field.full_name][1]
        else:
            value = sample[field.type]
        kwargs[field.name] = [value, value] if field.is_repeated else value
    return GetMessageClass(desc)(**kwargs)


def non_empty(desc: Descriptor) -> st.SearchStrategy[Message]:
    return messages(desc).filter(lambda m: bool(m.ListFields()))


@pytest.mark.parametrize("ftype", list(PROTOBUF_BODIES), ids=lambda t: t.name)
@given(data=st.data())
def test_protobuf_body_round_trip(ftype: FrameType, data: st.DataObject) -> None:
    body = data.draw(non_empty(PROTOBUF_BODIES[ftype].DESCRIPTOR))
    payload = encode_body(ftype, body)
    assert payload
    decoded = decode_body(ftype, payload)
    assert type(decoded) is PROTOBUF_BODIES[ftype]
    assert decoded == body


@pytest.mark.parametrize("ftype", list(PROTOBUF_BODIES), ids=lambda t: t.name)
def test_every_field_survives(ftype: FrameType) -> None:
    desc = PROTOBUF_BODIES[ftype].DESCRIPTOR
    body = full_message(desc)
    decoded = decode_body(ftype, encode_body(ftype, body))
    assert decoded == body
    assert len(decoded.ListFields()) == len(desc.fields)


def test_every_frame_type_but_fragment_has_a_body() -> None:
    for ftype in FrameType:
        if ftype is FrameType.FRAGMENT:
            with pytest.raises(ValueError):
                body_class(ftype)
            with pytest.raises(FrameError) as err:
                decode_body(ftype, b"")
            assert err.value.reason is Reject.UNKNOWN_TYPE
        else:
            assert body_class(ftype) is not None


def test_compact_bodies_go_through_encode_body() -> None:
    samples = {
        FrameType.POSITION: PositionReport(1, 2, alt_m=3),
        FrameType.STATUS: StatusReport(ResponderState.TRAPPED, 5, 6),
        FrameType.VITALS: VitalSigns(60, 90, 36.5, 12),
    }
    for ftype, body in samples.items():
        assert decode_body(ftype, encode_body(ftype, body)) == body


def test_encode_body_refuses_the_wrong_class() -> None:
    with pytest.raises(TypeError):
        encode_body(FrameType.TEXT, messages_pb2.Sos())
    with pytest.raises(TypeError):
        encode_body(FrameType.POSITION, StatusReport(ResponderState.OK))


def test_unknown_fields_are_ignored() -> None:
    """SPEC.md §6.2: receivers MUST ignore unknown fields (forward compatibility)."""
    payload = messages_pb2.Text(body="hi").SerializeToString() + b"\xf8\x07\x01"  # field 127
    decoded = decode_body(FrameType.TEXT, payload)
    assert isinstance(decoded, messages_pb2.Text)
    assert decoded.body == "hi"


@pytest.mark.parametrize(
    "payload",
    [b"\x0a\x05ab", b"\x0a\x01\xff", b"\x08", b"\x07", b"\xff" * 11, b"\x0a\xff\xff\xff\xff\x0f"],
)
def test_malformed_protobuf_is_malformed_body(payload: bytes) -> None:
    with pytest.raises(FrameError) as err:
        decode_body(FrameType.TEXT, payload)
    assert err.value.reason is Reject.MALFORMED_BODY


def test_signature_policy() -> None:
    assert set(MUST_SIGN) == {FrameType.SOS, FrameType.ORDER, FrameType.MGMT_CONFIG}


@given(st.binary(max_size=40).filter(lambda b: len(b) % ENTRY_LEN != 0))
def test_a_hello_with_a_torn_heard_entry_is_malformed(heard: bytes) -> None:
    payload = control_pb2.Hello(seqno=1, interval_ms=500, heard=heard).SerializeToString()
    with pytest.raises(FrameError) as err:
        decode_body(FrameType.HELLO, payload)
    assert err.value.reason is Reject.MALFORMED_BODY
