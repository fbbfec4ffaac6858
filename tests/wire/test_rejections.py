"""Every way WireCodec rejects a frame (SPEC.md §10): the exact reason, and that it is counted.

Frames with a malformed header are built with a *valid* hop tag over that header (see
``protect``), so the only thing that can reject them is the check under test.
"""

from __future__ import annotations

import struct
import tracemalloc
from dataclasses import replace

import pytest
from conftest import COMMAND_POST, HANDHELD, NOW, TEAM_RELAY, Mission, identity

from tacmesh.protocol.addresses import Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.compact import PositionReport, ResponderState, StatusReport
from tacmesh.protocol.crypto.hop import nonce, seal
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.replay import WINDOW, ReplayGuard, ReplayWindow
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header, decode_header, encode_header
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import control_pb2, messages_pb2

TEXT = messages_pb2.Text(body="hello")
SOS = messages_pb2.Sos(sos_id=1, kind=messages_pb2.SOS_MAN_DOWN)
ORDER = messages_pb2.Order(order_id=1, kind=messages_pb2.ORDER_HOLD)
CONFIG = control_pb2.MgmtConfig(config_version=3)


def header(
    ftype: FrameType = FrameType.TEXT, tx: int = HANDHELD, counter: int = 1, dst: int = 1
) -> Header:
    return Header(ftype, DEFAULT_PRIORITY[ftype], 8, 0, tx, counter, dst, dst)


def expect(
    codec: WireCodec,
    data: bytes,
    reason: Reject,
    *,
    tag_len: int = 16,
    now: float = NOW,
    max_len: int = 65535,
) -> None:
    """``data`` is rejected for ``reason``, and counted once under that reason."""
    before, total = codec.rejects[reason], codec.rejects.total()
    with pytest.raises(FrameError) as err:
        codec.receive(data, tag_len=tag_len, now=now, max_len=max_len)
    assert err.value.reason is reason, err.value
    assert codec.rejects[reason] == before + 1
    assert codec.rejects.total() == total + 1


def protect(raw_header: bytes, payload: bytes, keyring: NetworkKeyring, tag_len: int = 16) -> bytes:
    """Header bytes as given (however malformed), payload encrypted and tagged correctly."""
    tx, counter = struct.unpack_from(">HI", raw_header, 2)
    aead = keyring.cipher(keyring.current, tag_len)
    return raw_header + aead.encrypt(nonce(tx, counter), payload, raw_header)


TEXT_HEADER = encode_header(header(dst=COMMAND_POST))


def edit(offset: int, value: bytes, data: bytes = TEXT_HEADER) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def with_ext(ext: bytes) -> bytes:
    return bytes([TEXT_HEADER[0] | 1]) + TEXT_HEADER[1:] + ext


def test_protect_makes_frames_the_codec_accepts(mission: Mission) -> None:
    keyring = mission.keyring()
    raws = (TEXT_HEADER, with_ext(b"\x40\xac\x02"), edit(10, b"\xff\xff"))
    for counter, raw in enumerate(raws, start=100):
        data = protect(edit(4, struct.pack(">I", counter), raw), TEXT.SerializeToString(), keyring)
        got = mission.command_post.codec.receive(data, tag_len=16, now=NOW)
        assert got.body == TEXT


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (edit(0, bytes([TEXT_HEADER[0] ^ 0xC0])), Reject.BAD_VERSION),  # version 10
        (edit(0, bytes([TEXT_HEADER[0] & 0x3F])), Reject.BAD_VERSION),  # version 00
        (edit(0, bytes([TEXT_HEADER[0] | 0xC0])), Reject.BAD_VERSION),  # version 11
        (edit(0, bytes([0x40 | 12 << 1])), Reject.UNKNOWN_TYPE),
        (edit(0, bytes([0x40 | 27 << 1])), Reject.UNKNOWN_TYPE),
        (edit(0, bytes([0x40 | 15 << 1])), Reject.BAD_FIELD),  # FRAGMENT is not a protected frame
        (edit(1, bytes([0xE0 | TEXT_HEADER[1] & 0x1F])), Reject.BAD_FIELD),  # priority 7
        (with_ext(b"\x01\x00"), Reject.RESERVED_BITS),
        (with_ext(b"\x42\x00"), Reject.RESERVED_BITS),
        (with_ext(b"\x0c"), Reject.RESERVED_BITS),
        (with_ext(b"\x00"), Reject.BAD_FIELD),  # extension byte present but empty
        (edit(2, b"\x00\x00"), Reject.BAD_FIELD),  # transmitter 0
        (edit(2, b"\xe0\x05"), Reject.BAD_FIELD),  # transmitter a team group
        (edit(2, b"\xf0\x07"), Reject.BAD_FIELD),  # transmitter a role group
        (edit(2, b"\xff\xff"), Reject.BAD_FIELD),  # transmitter all-hands
        (edit(2, b"\xf1\x00"), Reject.BAD_FIELD),  # transmitter reserved
        (edit(8, b"\x00\x00"), Reject.BAD_FIELD),  # destination 0
        (edit(8, b"\xff\xfe"), Reject.BAD_FIELD),  # destination reserved
        (edit(10, b"\xe0\x01"), Reject.BAD_FIELD),  # next hop a team group
        (edit(10, b"\xf0\x03"), Reject.BAD_FIELD),  # next hop a role group
        (edit(10, b"\x00\x00"), Reject.BAD_FIELD),  # next hop 0
        (with_ext(b"\x80\xe0\x01\x00\x00\x00\x09"), Reject.BAD_FIELD),  # origin a group
        (with_ext(b"\x80\x00\x00\x00\x00\x00\x09"), Reject.BAD_FIELD),  # origin 0
        (with_ext(b"\x40\x80\x00"), Reject.BAD_FIELD),  # age varint not minimal
        (with_ext(b"\x40\x81\x80\x80\x80\x00"), Reject.BAD_FIELD),  # ... nor is this
        (with_ext(b"\x20\x80\x80\x80\x80\x80\x01"), Reject.BAD_FIELD),  # lifetime over 5 bytes
        (with_ext(b"\x20\xff\xff\xff\xff\x10"), Reject.BAD_FIELD),  # lifetime over 32 bits
    ],
)
def test_structural_rejections(mission: Mission, raw: bytes, reason: Reject) -> None:
    data = protect(raw, TEXT.SerializeToString(), mission.keyring())
    expect(mission.command_post.codec, data, reason)


@pytest.mark.parametrize("tag_len", [4, 8, 16])
def test_every_prefix_is_truncated_or_bad_tag(mission: Mission, tag_len: int) -> None:
    h = replace(header(dst=COMMAND_POST), origin=TEAM_RELAY, msg_id=3, age_s=300, lifetime_s=9)
    frame = mission.handheld.codec.encode(h, TEXT, tag_len=tag_len)
    _, hlen = decode_header(frame)
    codec = mission.command_post.codec
    for n in range(len(frame)):
        expected = Reject.TRUNCATED if n < hlen + tag_len else Reject.BAD_TAG
        expect(codec, frame[:n], expected, tag_len=tag_len)
    assert codec.receive(frame, tag_len=tag_len, now=NOW).body == TEXT


def expected_for_flip(data: bytes, tag_len: int) -> Reject:
    """What a receiver holding only epoch 0, with no replay state, must say about ``data``."""
    try:
        h, hlen = decode_header(data)
    except FrameError as err:
        return err.reason
    if len(data) - hlen < tag_len:
        return Reject.TRUNCATED
    return Reject.UNKNOWN_EPOCH if h.key_phase else Reject.BAD_TAG


def test_every_bit_flip_is_rejected(mission: Mission) -> None:
    h = replace(header(dst=COMMAND_POST), origin=TEAM_RELAY, msg_id=3, age_s=300)
    frame = mission.handheld.codec.encode(h, TEXT, tag_len=8)
    _, hlen = decode_header(frame)
    codec = mission.command_post.codec
    reasons = set()
    for bit in range(len(frame) * 8):
        flipped = bytearray(frame)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        expected = expected_for_flip(bytes(flipped), 8)
        if bit // 8 >= hlen:
            assert expected is Reject.BAD_TAG
        expect(codec, bytes(flipped), expected, tag_len=8)
        reasons.add(expected)
    header_reasons = {Reject.BAD_VERSION, Reject.UNKNOWN_TYPE, Reject.BAD_FIELD}
    assert header_reasons | {Reject.UNKNOWN_EPOCH, Reject.BAD_TAG} <= reasons
    assert codec.receive(frame, tag_len=8, now=NOW).body == TEXT  # forgeries moved no state


def test_oversized(mission: Mission) -> None:
    frame = mission.handheld.codec.encode(header(dst=COMMAND_POST), TEXT, tag_len=16)
    expect(mission.command_post.codec, frame, Reject.OVERSIZED, max_len=len(frame) - 1)
    mission.command_post.codec.receive(frame, tag_len=16, now=NOW, max_len=len(frame))


def test_wrong_tag_length_at_receiver(mission: Mission) -> None:
    hh, codec = mission.handheld.codec, mission.command_post.codec
    text = messages_pb2.Text(body="long enough for any tag length")
    expect(codec, hh.encode(header(counter=1), text, tag_len=4), Reject.BAD_TAG, tag_len=16)
    expect(codec, hh.encode(header(counter=2), text, tag_len=16), Reject.BAD_TAG, tag_len=4)
    expect(codec, hh.encode(header(counter=3), text, tag_len=8), Reject.BAD_TAG, tag_len=4)
    status = hh.encode(
        header(FrameType.STATUS, counter=4), StatusReport(ResponderState.OK), tag_len=4
    )
    expect(codec, status, Reject.TRUNCATED, tag_len=16)  # 3 + 4 bytes: no room for 16


def test_other_network_key_or_mission_is_bad_tag(mission: Mission, other_mission: Mission) -> None:
    codec = mission.command_post.codec
    foreign_frame = other_mission.handheld.codec.encode(header(), TEXT, tag_len=8)
    expect(codec, foreign_frame, Reject.BAD_TAG, tag_len=8)
    # The mission's own network key under another mission id derives another hop key.
    foreign = NetworkKeyring(other_mission.mission_id, mission.network_key)
    expect(codec, seal(header(), TEXT.SerializeToString(), foreign, 8), Reject.BAD_TAG, tag_len=8)


def test_unknown_key_epoch(mission: Mission) -> None:
    sender = mission.codec(HANDHELD, keyring=mission.keyring(epoch=1))
    data = sender.encode(header(), TEXT, tag_len=8)
    assert decode_header(data)[0].key_phase == 1
    expect(mission.command_post.codec, data, Reject.UNKNOWN_EPOCH, tag_len=8)


# --- replay (SPEC.md §7.5) ---------------------------------------------------------------


def text_frame(m: Mission, counter: int) -> bytes:
    return m.handheld.codec.encode(header(counter=counter), TEXT, tag_len=4)


def test_same_frame_twice_is_replayed(mission: Mission) -> None:
    codec = mission.command_post.codec
    data = text_frame(mission, 10)
    codec.receive(data, tag_len=4, now=NOW)
    expect(codec, data, Reject.REPLAYED, tag_len=4)


def test_replay_window(mission: Mission) -> None:
    codec = mission.command_post.codec
    codec.receive(text_frame(mission, 100), tag_len=4, now=NOW)
    expect(codec, text_frame(mission, 100 - WINDOW), Reject.REPLAYED, tag_len=4)
    oldest = text_frame(mission, 100 - WINDOW + 1)
    codec.receive(oldest, tag_len=4, now=NOW)  # out of order, inside the window: once
    expect(codec, oldest, Reject.REPLAYED, tag_len=4)
    codec.receive(text_frame(mission, 99), tag_len=4, now=NOW)
    codec.receive(text_frame(mission, 101), tag_len=4, now=NOW)  # window moves on by one
    expect(codec, text_frame(mission, 100 - WINDOW + 1), Reject.REPLAYED, tag_len=4)
    expect(codec, text_frame(mission, 99), Reject.REPLAYED, tag_len=4)


def test_replay_windows_are_per_transmitter(mission: Mission) -> None:
    codec = mission.command_post.codec
    codec.receive(text_frame(mission, 500), tag_len=4, now=NOW)
    relay = mission.relay.codec.encode(header(tx=TEAM_RELAY, counter=1), TEXT, tag_len=4)
    assert codec.receive(relay, tag_len=4, now=NOW).header.transmitter == TEAM_RELAY


def test_forged_frames_do_not_evict_replay_windows(
    mission: Mission, other_mission: Mission
) -> None:
    """Regression: windows were created before the tag check, so an outsider could flush them
    with forged frames from made-up transmitters and then replay captured frames."""
    m = mission
    guard = ReplayGuard(capacity=4)
    codec = WireCodec(COMMAND_POST, m.command_post.identity, m.trust_store(), m.keyring(), guard)
    captured = text_frame(m, 7)
    codec.receive(captured, tag_len=4, now=NOW)
    outsider = other_mission.codec(HANDHELD, keyring=NetworkKeyring(m.mission_id, b"x" * 32))
    for tx in range(0x0500, 0x0510):
        forged = outsider.encode(header(tx=tx, counter=7), TEXT, tag_len=4)
        expect(codec, forged, Reject.BAD_TAG, tag_len=4)
    expect(codec, captured, Reject.REPLAYED, tag_len=4)


def test_counter_jump_to_the_top_of_the_range() -> None:
    """Regression: a jump of ~2^32 shifted the bitmap by 2^32 bits (a 512 MiB integer)."""
    window = ReplayWindow()
    window.accept(0)
    tracemalloc.start()
    try:
        window.accept(2**32 - 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # was over 1 GiB
    assert window.bitmap == 1
    window.check(2**32 - 2)
    for counter in (2**32 - 1, 0, 2**32 - 1 - WINDOW):
        with pytest.raises(FrameError) as err:
            window.check(counter)
        assert err.value.reason is Reject.REPLAYED


# --- bodies ---------------------------------------------------------------------------------


def sealed_payload(m: Mission, ftype: FrameType, payload: bytes, counter: int = 1) -> bytes:
    return seal(header(ftype, counter=counter), payload, m.keyring(), 16)


@pytest.mark.parametrize(
    ("ftype", "payload", "reason"),
    [
        (FrameType.POSITION, PositionReport(0, 0).encode()[:-1], Reject.TRUNCATED),
        (FrameType.POSITION, PositionReport(0, 0).encode() + b"\x00", Reject.OVERSIZED),
        (FrameType.POSITION, b"", Reject.TRUNCATED),
        (FrameType.STATUS, b"\x00\x00", Reject.TRUNCATED),
        (FrameType.STATUS, b"\x00\x00\x00\x00", Reject.OVERSIZED),
        (FrameType.STATUS, b"\x0f\xff\xe1", Reject.RESERVED_BITS),
        (FrameType.STATUS, b"\xcf\xff\xe0", Reject.BAD_FIELD),  # state 12
        (FrameType.VITALS, b"\xff\xff\xff", Reject.TRUNCATED),
        (FrameType.VITALS, b"\xff\xff\xff\xff\xff", Reject.OVERSIZED),
        (FrameType.TEXT, b"\x0a\x05ab", Reject.MALFORMED_BODY),
        (FrameType.TEXT, b"\x0a\x02\xc3\x28", Reject.MALFORMED_BODY),  # invalid UTF-8
        (FrameType.HELLO, b"\x1a\x03\x08", Reject.MALFORMED_BODY),
        (FrameType.CERTIFICATE, b"\xff", Reject.MALFORMED_BODY),
    ],
)
def test_body_rejections(
    mission: Mission, ftype: FrameType, payload: bytes, reason: Reject
) -> None:
    expect(mission.command_post.codec, sealed_payload(mission, ftype, payload), reason)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", Reject.TRUNCATED),
        (b"\x00hello", Reject.RESERVED_BITS),  # neither signed nor sealed
        (b"\x05hello", Reject.RESERVED_BITS),
        (b"\x01" + b"s" * 63, Reject.TRUNCATED),  # signed, but shorter than a signature
        (b"\x01" + b"s" * 64, Reject.BAD_SIGNATURE),
    ],
)
def test_envelope_rejections(mission: Mission, payload: bytes, reason: Reject) -> None:
    data = seal(replace(header(), e2e=True), payload, mission.keyring(), 16)
    expect(mission.command_post.codec, data, reason)


# --- signatures, permissions, certificates (SPEC.md §6.3, §7.3) ------------------------------


@pytest.mark.parametrize(
    ("ftype", "body", "sender"),
    [
        (FrameType.SOS, SOS, HANDHELD),
        (FrameType.ORDER, ORDER, 1),
        (FrameType.MGMT_CONFIG, CONFIG, 1),
    ],
)
def test_unsigned_must_sign_types(
    mission: Mission, ftype: FrameType, body: Body, sender: int
) -> None:
    codec = mission.nodes[sender].codec
    data = codec.encode(header(ftype, sender, dst=TEAM_RELAY), body, tag_len=8, sign=False)
    expect(mission.relay.codec, data, Reject.BAD_SIGNATURE, tag_len=8)


@pytest.mark.parametrize(
    ("ftype", "body", "sender"),
    [
        (FrameType.ORDER, ORDER, HANDHELD),
        (FrameType.ORDER, ORDER, TEAM_RELAY),
        (FrameType.MGMT_CONFIG, CONFIG, TEAM_RELAY),
    ],
)
def test_signer_without_permission(
    mission: Mission, ftype: FrameType, body: Body, sender: int
) -> None:
    data = mission.nodes[sender].codec.encode(header(ftype, sender), body, tag_len=8)
    expect(mission.command_post.codec, data, Reject.NOT_PERMITTED, tag_len=8)


def test_signed_by_a_node_without_certificate(mission: Mission) -> None:
    stranger = mission.codec(0x0401, identity(40))  # holds the network key, no certificate
    data = stranger.encode(header(FrameType.SOS, 0x0401), SOS, tag_len=8)
    expect(mission.command_post.codec, data, Reject.UNKNOWN_SENDER, tag_len=8)


def test_signed_with_a_key_other_than_the_certified_one(mission: Mission) -> None:
    impostor = mission.codec(HANDHELD, identity(40))
    data = impostor.encode(header(FrameType.SOS), SOS, tag_len=8)
    expect(mission.command_post.codec, data, Reject.BAD_SIGNATURE, tag_len=8)


def test_revoked_signer(mission: Mission) -> None:
    cp = mission.command_post.codec
    cp.trust.apply_revocation(mission.authority.revoke(number=1, issued_at=NOW, serials=[HANDHELD]))
    sos = mission.handheld.codec.encode(header(FrameType.SOS, counter=1), SOS, tag_len=8)
    expect(cp, sos, Reject.REVOKED, tag_len=8)
    # Revocation alone does not stop unsigned traffic: the device still holds the network
    # key until a key update cuts it off (test_key_rotation.py).
    fix = PositionReport(0, 0)
    pos = mission.handheld.codec.encode(header(FrameType.POSITION, counter=2), fix, tag_len=8)
    assert cp.receive(pos, tag_len=8, now=NOW).body == fix


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (NOW - 101, Reject.EXPIRED),
        (NOW + 101, Reject.EXPIRED),
        (NOW - 100, None),
        (NOW + 100, None),
    ],
)
def test_signer_certificate_validity(mission: Mission, now: int, reason: Reject | None) -> None:
    medic = identity(50)
    cert = mission.issue(0x0105, Role.MEDIC, medic, not_before=NOW - 100, not_after=NOW + 100)
    cp = mission.command_post.codec
    cp.trust.add_certificate(cert, NOW)
    data = mission.codec(0x0105, medic).encode(header(FrameType.SOS, 0x0105), SOS, tag_len=8)
    if reason is None:
        assert cp.receive(data, tag_len=8, now=now).body == SOS
    else:
        expect(cp, data, reason, tag_len=8, now=now)


def test_rejects_are_reported_by_name(mission: Mission) -> None:
    codec = mission.command_post.codec
    data = text_frame(mission, 1)
    codec.receive(data, tag_len=4, now=NOW)
    for _ in range(2):
        expect(codec, data, Reject.REPLAYED, tag_len=4)
    expect(codec, data[:5], Reject.TRUNCATED, tag_len=4)
    assert codec.rejects.as_dict() == {"truncated": 1, "replayed": 2}
