"""Whole frames through WireCodec (SPEC.md §4, §7): every type, every tag length, relays,
end-to-end signatures and sealing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import COMMAND_POST, FIX, GATEWAY, HANDHELD, NOW, TEAM_RELAY, Mission, sample_bodies
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.addresses import ALL_HANDS, Role, role_group, team_group
from tacmesh.protocol.codec import Received
from tacmesh.protocol.compact import FixSource, PositionReport
from tacmesh.protocol.crypto.e2e import SEALED, SIGNED
from tacmesh.protocol.crypto.hop import seal
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.messages import MUST_SIGN
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority

TAG_LENGTHS = (4, 8, 16)


def test_samples_cover_every_type(mission: Mission) -> None:
    assert set(sample_bodies(mission)) == set(FrameType) - {FrameType.FRAGMENT}


def sender_for(ftype: FrameType) -> int:
    return COMMAND_POST if ftype in (FrameType.ORDER, FrameType.MGMT_CONFIG) else HANDHELD


@pytest.mark.parametrize("tag_len", TAG_LENGTHS)
@pytest.mark.parametrize(
    "ftype", [t for t in FrameType if t is not FrameType.FRAGMENT], ids=lambda t: t.name
)
def test_every_type_round_trips(mission: Mission, ftype: FrameType, tag_len: int) -> None:
    src = mission.nodes[sender_for(ftype)]
    dst = mission.nodes[HANDHELD if src.address == COMMAND_POST else COMMAND_POST]
    body = sample_bodies(mission)[ftype]
    header = Header(ftype, DEFAULT_PRIORITY[ftype], 8, 0, src.address, 77, dst.address, dst.address)
    frame = src.codec.encode(header, body, tag_len=tag_len)
    got = dst.codec.receive(frame, tag_len=tag_len, now=NOW)
    signed = ftype in MUST_SIGN
    assert got.header == replace(header, e2e=signed)
    assert got.body == body
    assert got.sealed is False
    assert (got.signed_by.address if got.signed_by else None) == (src.address if signed else None)
    assert not dst.codec.rejects


@given(
    header=st.builds(
        Header,
        type=st.just(FrameType.POSITION),
        priority=st.sampled_from(Priority),
        hop_limit=st.integers(0, 15),
        key_phase=st.just(0),
        transmitter=st.just(HANDHELD),
        counter=st.integers(0, 2**32 - 1),
        destination=st.sampled_from([COMMAND_POST, team_group(7), role_group(Role.MEDIC)]),
        next_hop=st.sampled_from([COMMAND_POST, ALL_HANDS]),
        age_s=st.none() | st.integers(0, 2**32 - 1),
        lifetime_s=st.none() | st.integers(0, 2**32 - 1),
        custody=st.booleans(),
    ),
    lat=st.integers(-9_000_000, 9_000_000),
    source=st.sampled_from(FixSource),
    tag_len=st.sampled_from(TAG_LENGTHS),
)
def test_any_header_round_trips(
    shared_mission: Mission, header: Header, lat: int, source: FixSource, tag_len: int
) -> None:
    m = shared_mission
    body = PositionReport(lat, -lat * 2, source=source)
    frame = m.handheld.codec.encode(header, body, tag_len=tag_len)
    receiver = m.codec(COMMAND_POST, trust=m.command_post.codec.trust)
    assert receiver.receive(frame, tag_len=tag_len, now=NOW) == Received(header, body)


def test_frame_size_is_header_plus_body_plus_tag(mission: Mission) -> None:
    """SPEC.md §6.1: a first-hop position with a 4-byte tag is 29 bytes."""
    h = Header(FrameType.POSITION, DEFAULT_PRIORITY[FrameType.POSITION], 8, 0, HANDHELD, 1, 1, 1)
    for tag_len in TAG_LENGTHS:
        assert len(mission.handheld.codec.encode(h, FIX, tag_len=tag_len)) == 12 + 13 + tag_len


def sos_header(counter: int = 5) -> Header:
    return Header(FrameType.SOS, DEFAULT_PRIORITY[FrameType.SOS], 8, 0, HANDHELD, counter, 1, 0x201)


SOS = messages_pb2.Sos(sos_id=11, kind=messages_pb2.SOS_LOW_AIR)


def test_relays_keep_origin_msg_id_and_signature(mission: Mission) -> None:
    hh, relay, gw, cp = mission.handheld, mission.relay, mission.gateway, mission.command_post
    first = hh.codec.encode(sos_header(counter=5), SOS, tag_len=4)
    at_relay = relay.codec.open(first, tag_len=4)
    second = relay.codec.forward(at_relay, counter=900, next_hop=GATEWAY, tag_len=8)
    at_gateway = gw.codec.open(second, tag_len=8)
    assert at_gateway.payload == at_relay.payload
    third = gw.codec.forward(at_gateway, counter=31, next_hop=COMMAND_POST, tag_len=16)
    got = cp.codec.receive(third, tag_len=16, now=NOW)
    h = got.header
    assert (h.transmitter, h.counter, h.next_hop, h.hop_limit) == (GATEWAY, 31, COMMAND_POST, 6)
    assert (h.origin, h.msg_id, h.source, h.message_id) == (HANDHELD, 5, HANDHELD, 5)
    assert got.signed_by is not None
    assert got.signed_by.address == HANDHELD
    assert got.body == SOS


def test_relay_cannot_alter_a_signed_body_or_its_binding(mission: Mission) -> None:
    hh, relay, cp = mission.handheld, mission.relay, mission.command_post
    frame = relay.codec.open(hh.codec.encode(sos_header(), SOS, tag_len=16), tag_len=16)
    forged = bytearray(frame.payload)
    forged[3] ^= 0x01  # inside the body, after the mode byte
    variants = [
        (frame.header.relayed(TEAM_RELAY, 1, COMMAND_POST), bytes(forged)),
        (replace(frame.header.relayed(TEAM_RELAY, 2, COMMAND_POST), msg_id=6), frame.payload),
        (replace(frame.header.relayed(TEAM_RELAY, 3, COMMAND_POST), destination=2), frame.payload),
    ]
    for header, payload in variants:
        data = seal(header, payload, relay.codec.keyring, 16)
        with pytest.raises(FrameError) as err:
            cp.codec.receive(data, tag_len=16, now=NOW)
        assert err.value.reason is Reject.BAD_SIGNATURE
    assert cp.codec.rejects[Reject.BAD_SIGNATURE] == 3


def text_header(counter: int, destination: int = HANDHELD) -> Header:
    return Header(FrameType.TEXT, DEFAULT_PRIORITY[FrameType.TEXT], 8, 0, 1, counter, destination)


SECRET = messages_pb2.Text(body="casualty list: 4 red, 2 yellow")


@pytest.mark.parametrize("sign", [True, False])
def test_sealed_text_opens_only_at_the_addressee(mission: Mission, sign: bool) -> None:
    cp, hh, relay, gw = mission.command_post, mission.handheld, mission.relay, mission.gateway
    data = cp.codec.encode(text_header(4), SECRET, tag_len=16, seal_to=HANDHELD, sign=sign, now=NOW)
    at_relay = relay.codec.open(data, tag_len=16)
    assert at_relay.payload[0] == (SEALED | (SIGNED if sign else 0))
    assert SECRET.body.encode() not in at_relay.payload
    relayed = relay.codec.forward(at_relay, counter=1, next_hop=HANDHELD, tag_len=8)
    got = hh.codec.receive(relayed, tag_len=8, now=NOW)
    assert (got.body, got.sealed) == (SECRET, True)
    assert (got.signed_by.address if got.signed_by else None) == (COMMAND_POST if sign else None)
    # A third node, and a node claiming the addressee's address with its own keys, cannot.
    impostor = mission.codec(HANDHELD, gw.identity)
    for codec in (gw.codec, impostor):
        with pytest.raises(FrameError) as err:
            codec.receive(data, tag_len=16, now=NOW)
        assert err.value.reason is Reject.BAD_SEAL
        assert codec.rejects[Reject.BAD_SEAL] == 1


def test_sealing_checks_the_recipients_certificate_now(mission: Mission) -> None:
    cp = mission.command_post
    with pytest.raises(ValueError):
        cp.codec.encode(text_header(1), SECRET, tag_len=16, seal_to=HANDHELD)
    with pytest.raises(ValueError):  # sealing is to the destination only (SPEC.md §7.6)
        cp.codec.encode(text_header(1, 0xE001), SECRET, tag_len=16, seal_to=HANDHELD, now=NOW)
    with pytest.raises(FrameError) as err:
        cp.codec.encode(text_header(1, 0x0777), SECRET, tag_len=16, seal_to=0x0777, now=NOW)
    assert err.value.reason is Reject.UNKNOWN_SENDER
    late = mission.issue(0x0102, Role.MEDIC, mission.handheld.identity, not_before=NOW + 10)
    cp.codec.trust.add_certificate(late, NOW + 10)
    with pytest.raises(FrameError) as err:
        cp.codec.encode(text_header(2, 0x0102), SECRET, tag_len=16, seal_to=0x0102, now=NOW)
    assert err.value.reason is Reject.EXPIRED
    cp.codec.encode(text_header(3, 0x0102), SECRET, tag_len=16, seal_to=0x0102, now=NOW + 10)


def test_signing_an_optional_type_reports_the_signer(mission: Mission) -> None:
    hh, cp = mission.handheld, mission.command_post
    data = hh.codec.encode(
        replace(text_header(9, COMMAND_POST), transmitter=HANDHELD), SECRET, tag_len=8, sign=True
    )
    got = cp.codec.receive(data, tag_len=8, now=NOW)
    assert got.header.e2e
    assert got.signed_by is not None
    assert got.signed_by.address == HANDHELD
    assert got.signed_by.role is Role.HANDHELD


def test_codec_is_independent_per_node(mission: Mission) -> None:
    """Distinct codecs share no replay state: the same frame is new to each receiver."""
    data = mission.handheld.codec.encode(sos_header(), SOS, tag_len=4)
    for node in (mission.relay, mission.gateway, mission.command_post):
        assert node.codec.receive(data, tag_len=4, now=NOW).body == SOS
