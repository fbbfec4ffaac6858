"""Network key epochs and KEY_UPDATE (SPEC.md §7.4, §7.7): cutting a captured device off."""

from __future__ import annotations

import pytest
from conftest import COMMAND_POST, GATEWAY, HANDHELD, NOW, TEAM_RELAY, Mission, identity

from tacmesh.protocol.crypto.certificates import Certificate, decode_certificate, sign_object
from tacmesh.protocol.crypto.keys import KeyUpdate, issue_key_update, open_key_update
from tacmesh.protocol.crypto.suite import LABEL_KEY_UPDATE, hop_key
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header, decode_header
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.pb import security_pb2 as pb

TEXT = messages_pb2.Text(body="rotate")
KEY_1, KEY_2 = b"\x11" * 32, b"\x22" * 32
KEEPERS = (COMMAND_POST, TEAM_RELAY, GATEWAY)
"""Every node but the handheld, which was captured: its certificate is revoked."""


def certs(m: Mission, addresses: tuple[int, ...]) -> list[Certificate]:
    auth = m.command_post.codec.trust.authority
    return [decode_certificate(m.nodes[a].cert, auth, m.mission_id) for a in addresses]


def open_for(m: Mission, update: bytes, address: int) -> KeyUpdate:
    node = m.nodes[address]
    return open_key_update(
        update,
        authority_key=node.codec.trust.authority,
        mission_id=m.mission_id,
        address=address,
        identity=node.identity,
    )


def issue(m: Mission, epoch: int = 1, key: bytes = KEY_1, activate_at: int = NOW) -> bytes:
    return issue_key_update(
        m.authority,
        epoch=epoch,
        activate_at=activate_at,
        retire_previous_at=activate_at + 600,
        network_key=key,
        recipients=certs(m, KEEPERS),
    )


def rotate(m: Mission, epoch: int, key: bytes) -> None:
    """Issue a key update for the keepers, and have each install and activate it."""
    update = issue(m, epoch, key)
    for address in KEEPERS:
        got = open_for(m, update, address)
        assert got.network_key == key
        m.nodes[address].codec.keyring.install(got.epoch, key)
        m.nodes[address].codec.keyring.activate(got.epoch)


def frame(m: Mission, sender: int, counter: int) -> bytes:
    h = Header(FrameType.TEXT, DEFAULT_PRIORITY[FrameType.TEXT], 8, 0, sender, counter, 1, 1)
    return m.nodes[sender].codec.encode(h, TEXT, tag_len=8)


def reject_reason(m: Mission, receiver: int, data: bytes) -> Reject:
    codec = m.nodes[receiver].codec
    with pytest.raises(FrameError) as err:
        codec.receive(data, tag_len=8, now=NOW)
    assert codec.rejects[err.value.reason] >= 1
    return err.value.reason


def accepted(m: Mission, receiver: int, data: bytes) -> bool:
    return m.nodes[receiver].codec.receive(data, tag_len=8, now=NOW).body == TEXT


def test_key_update_reaches_recipients_only(mission: Mission) -> None:
    update = issue(mission, activate_at=NOW + 60)
    for address in KEEPERS:
        assert open_for(mission, update, address) == KeyUpdate(1, NOW + 60, NOW + 660, KEY_1)
    assert open_for(mission, update, HANDHELD) == KeyUpdate(1, NOW + 60, NOW + 660, None)
    # The captured device cannot take a keeper's copy by claiming its address.
    with pytest.raises(FrameError) as err:
        open_key_update(
            update,
            authority_key=mission.handheld.codec.trust.authority,
            mission_id=mission.mission_id,
            address=TEAM_RELAY,
            identity=mission.handheld.identity,
        )
    assert err.value.reason is Reject.BAD_SEAL


def test_key_update_from_elsewhere_or_tampered(mission: Mission, other_mission: Mission) -> None:
    foreign = issue_key_update(
        other_mission.authority,
        epoch=1,
        activate_at=0,
        retire_previous_at=0,
        network_key=KEY_1,
        recipients=[],
    )
    with pytest.raises(FrameError) as err:
        open_for(mission, foreign, COMMAND_POST)
    assert err.value.reason is Reject.WRONG_MISSION
    update = pb.Signed.FromString(issue(mission))
    body = pb.KeyUpdateBody.FromString(update.body)
    body.epoch = 7
    forged = pb.Signed(body=body.SerializeToString(), signature=update.signature)
    with pytest.raises(FrameError) as err:
        open_for(mission, forged.SerializeToString(), COMMAND_POST)
    assert err.value.reason is Reject.BAD_SIGNATURE


def test_rotation_cuts_off_the_excluded_node(mission: Mission) -> None:
    m = mission
    rotate(m, 1, KEY_1)
    new = frame(m, TEAM_RELAY, 2)
    assert decode_header(new)[0].key_phase == 1
    assert accepted(m, COMMAND_POST, new)
    assert accepted(m, GATEWAY, new)
    # The handheld holds epoch 0 only, so nothing is held for key phase 1.
    assert reject_reason(m, HANDHELD, new) is Reject.UNKNOWN_EPOCH


def test_previous_epoch_overlap_then_retirement(mission: Mission) -> None:
    m = mission
    in_flight = frame(m, TEAM_RELAY, 1)
    captured = frame(m, HANDHELD, 1)
    rotate(m, 1, KEY_1)
    # During the overlap the receivers keep epoch 0: frames already in flight still arrive,
    # and so (design limitation, see the report) do the cut-off node's epoch-0 frames.
    assert accepted(m, COMMAND_POST, in_flight)
    assert accepted(m, COMMAND_POST, captured)
    # At retire_previous_at every keeper drops epoch 0: the cut-off node's frames now fail.
    for address in KEEPERS:
        if address != GATEWAY:  # the gateway keeps epoch 0 until the next rotation, below
            m.nodes[address].codec.keyring.retire(0)
    assert reject_reason(m, COMMAND_POST, frame(m, HANDHELD, 3)) is Reject.UNKNOWN_EPOCH

    previous = frame(m, TEAM_RELAY, 2)  # under epoch 1
    rotate(m, 2, KEY_2)  # epoch 0 is dropped: the keyring keeps epochs 1 and 2
    late = frame(m, HANDHELD, 2)
    assert decode_header(late)[0].key_phase == 0
    # Phase 0 now selects epoch 2, whose key the handheld's epoch-0 tag does not match.
    assert reject_reason(m, COMMAND_POST, late) is Reject.BAD_TAG
    assert reject_reason(m, GATEWAY, in_flight) is Reject.BAD_TAG
    assert accepted(m, GATEWAY, previous)  # epoch 1 is the overlap now
    assert accepted(m, GATEWAY, frame(m, TEAM_RELAY, 3))  # epoch 2 is current
    # A cut-off node whose only key has the new epoch's phase sees BAD_TAG, not UNKNOWN_EPOCH.
    assert reject_reason(m, HANDHELD, frame(m, COMMAND_POST, 4)) is Reject.BAD_TAG


def test_replay_windows_are_per_epoch(mission: Mission) -> None:
    m = mission
    assert accepted(m, COMMAND_POST, frame(m, TEAM_RELAY, 5))
    rotate(m, 1, KEY_1)
    assert accepted(m, COMMAND_POST, frame(m, TEAM_RELAY, 5))  # same counter, new epoch


def test_keyring_keeps_the_current_and_the_newest_epoch(mission: Mission) -> None:
    ring = mission.keyring()
    ring.install(1, KEY_1)
    ring.install(2, KEY_1)
    assert ring.epochs == [0, 2]  # 1 dropped; 0 kept because the node still sends with it
    with pytest.raises(KeyError):
        ring.hop_key(1)
    ring.activate(2)
    ring.install(1, KEY_1)
    assert (ring.epoch_for_phase(0), ring.epoch_for_phase(1)) == (2, 1)
    assert ring.epochs == [1, 2]
    assert ring.hop_key(2) == hop_key(KEY_1, mission.mission_id, 2) != ring.hop_key(1)
    with pytest.raises(ValueError):
        ring.activate(0)
    with pytest.raises(ValueError):
        ring.retire(2)  # the epoch it sends with
    with pytest.raises(ValueError):
        ring.install(3, b"short")
    ring.install(3, KEY_2)
    with pytest.raises(FrameError) as err:
        mission.keyring(epoch=4).epoch_for_phase(1)
    assert err.value.reason is Reject.UNKNOWN_EPOCH
    assert ring.epoch_for_phase(1) == 3


def test_key_update_for_a_node_that_was_never_certified(mission: Mission) -> None:
    got = open_key_update(
        issue(mission),
        authority_key=mission.command_post.codec.trust.authority,
        mission_id=mission.mission_id,
        address=0x0777,
        identity=identity(70),
    )
    assert got.network_key is None


def test_low_order_ephemeral_key_is_a_frame_error(mission: Mission) -> None:
    """Regression (found by the fuzz harness): X25519 with a low-order point raised a bare
    ValueError out of open_key_update."""
    body = pb.KeyUpdateBody(
        mission_id=mission.mission_id,
        epoch=1,
        ephemeral_key=bytes(32),
        keys=[pb.WrappedKey(address=COMMAND_POST, wrapped=b"\x00" * 48)],
    )
    update = sign_object(mission.authority.key, LABEL_KEY_UPDATE, body.SerializeToString())
    with pytest.raises(FrameError) as err:
        open_for(mission, update, COMMAND_POST)
    assert err.value.reason is Reject.BAD_FIELD
