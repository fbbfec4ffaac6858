"""Certificates, revocations and the trust store (SPEC.md §7.2, §7.3)."""

from __future__ import annotations

import pytest
from conftest import HANDHELD, NOT_AFTER, NOW, Mission, identity

from tacmesh.protocol.addresses import Role
from tacmesh.protocol.crypto.certificates import (
    ROLE_PERMISSIONS,
    Permission,
    decode_certificate,
    decode_revocation,
    sign_object,
)
from tacmesh.protocol.crypto.suite import LABEL_CERT, LABEL_REVOCATION
from tacmesh.protocol.crypto.trust import TrustStore
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.pb import security_pb2 as pb


def reason_of(call: object, *args: object) -> Reject:
    assert callable(call)
    with pytest.raises(FrameError) as err:
        call(*args)
    return err.value.reason


def test_certificate_fields(mission: Mission) -> None:
    ident = identity(60)
    data = mission.authority.issue(
        serial=77,
        address=0x0ABC,
        role=Role.MEDIC,
        sign_key=ident.sign_public,
        dh_key=ident.dh_public,
        not_before=5,
        not_after=NOT_AFTER,
        callsign="MED-2",
        team=12,
    )
    cert = decode_certificate(data, mission.command_post.codec.trust.authority, mission.mission_id)
    assert cert.mission_id == mission.mission_id
    assert (cert.serial, cert.address, cert.role) == (77, 0x0ABC, Role.MEDIC)
    assert cert.permissions == ROLE_PERMISSIONS[Role.MEDIC] == Permission.SEND | Permission.ACK_SOS
    assert (cert.not_before, cert.not_after, cert.callsign, cert.team) == (
        5,
        NOT_AFTER,
        "MED-2",
        12,
    )
    assert (cert.sign_key, cert.dh_key, cert.encoded) == (ident.sign_public, ident.dh_public, data)
    assert cert.valid_at(5)
    assert cert.valid_at(NOT_AFTER)
    assert not cert.valid_at(4)
    assert not cert.valid_at(NOT_AFTER + 1)


def test_explicit_permissions_override_the_role(mission: Mission) -> None:
    data = mission.issue(0x0102, Role.HANDHELD, identity(61), permissions=Permission.ISSUE_ORDERS)
    cert = mission.command_post.codec.trust.add_certificate(data, NOW)
    assert cert.permissions == Permission.ISSUE_ORDERS
    with pytest.raises(FrameError) as err:
        mission.command_post.codec.trust.sender(0x0102, NOW)  # SEND not granted
    assert err.value.reason is Reject.NOT_PERMITTED


def test_issue_refuses_group_addresses(mission: Mission) -> None:
    with pytest.raises(ValueError):
        mission.issue(0xE001, Role.HANDHELD, identity(62))


def test_other_missions_objects_are_wrong_mission(mission: Mission, other_mission: Mission) -> None:
    trust = mission.trust_store()
    assert (
        reason_of(trust.add_certificate, other_mission.handheld.cert, NOW) is Reject.WRONG_MISSION
    )
    rev = other_mission.authority.revoke(number=5, issued_at=NOW, serials=[HANDHELD])
    assert reason_of(trust.apply_revocation, rev) is Reject.WRONG_MISSION
    assert trust.revocation_number == -1


def test_tampered_certificates_are_bad_signature(mission: Mission) -> None:
    trust = TrustStore(mission.authority.public_key)
    signed = pb.Signed.FromString(mission.handheld.cert)
    for i in (0, 31, 63):
        bad_sig = bytearray(signed.signature)
        bad_sig[i] ^= 0x01
        tampered = pb.Signed(body=signed.body, signature=bytes(bad_sig)).SerializeToString()
        assert reason_of(trust.add_certificate, tampered, NOW) is Reject.BAD_SIGNATURE
    body = pb.CertificateBody.FromString(signed.body)
    body.role = int(Role.COMMAND_POST)  # privilege escalation attempt
    forged = pb.Signed(body=body.SerializeToString(), signature=signed.signature)
    assert reason_of(trust.add_certificate, forged.SerializeToString(), NOW) is Reject.BAD_SIGNATURE
    short = pb.Signed(body=signed.body, signature=signed.signature[:63]).SerializeToString()
    assert reason_of(trust.add_certificate, short, NOW) is Reject.BAD_SIGNATURE
    # The authority's signature under another label (domain separation, SPEC.md §7.1).
    wrong_label = sign_object(mission.authority.key, LABEL_REVOCATION, signed.body)
    assert reason_of(trust.add_certificate, wrong_label, NOW) is Reject.BAD_SIGNATURE
    assert not trust.certificates


def signed_body(m: Mission, **fields: object) -> bytes:
    ident = identity(63)
    body = pb.CertificateBody(
        mission_id=m.mission_id,
        serial=9,
        address=0x0109,
        role=int(Role.HANDHELD),
        permissions=1,
        not_before=0,
        not_after=NOT_AFTER,
        sign_key=ident.sign_public,
        dh_key=ident.dh_public,
    )
    for name, value in fields.items():
        setattr(body, name, value)
    return sign_object(m.authority.key, LABEL_CERT, body.SerializeToString())


@pytest.mark.parametrize(
    "fields",
    [
        {"sign_key": b"\x01" * 31},
        {"dh_key": b"\x01" * 33},
        {"address": 0},
        {"address": 0xE001},
        {"address": 0xFFFF},
        {"address": 0x10101},
        {"role": 0},
        {"role": 10},
    ],
)
def test_signed_certificate_with_bad_fields(mission: Mission, fields: dict[str, object]) -> None:
    data = signed_body(mission, **fields)
    assert reason_of(mission.trust_store().add_certificate, data, NOW) is Reject.BAD_FIELD


def test_unknown_permission_bits_are_dropped(mission: Mission) -> None:
    cert = mission.trust_store().add_certificate(signed_body(mission, permissions=0xFFFF), NOW)
    assert cert.permissions == Permission(0x7F)


def test_validity_period_at_add(mission: Mission) -> None:
    trust = mission.trust_store()
    data = mission.issue(0x0103, Role.SENSOR, identity(64), not_before=NOW, not_after=NOW + 10)
    assert reason_of(trust.add_certificate, data, NOW - 1) is Reject.EXPIRED  # not yet valid
    assert reason_of(trust.add_certificate, data, NOW + 11) is Reject.EXPIRED
    trust.add_certificate(data, NOW + 10)
    assert reason_of(trust.sender, 0x0103, NOW + 11) is Reject.EXPIRED
    assert trust.sender(0x0103, NOW).serial == 0x0103


def test_revocation(mission: Mission) -> None:
    trust = mission.trust_store()
    rev = mission.authority.revoke(number=2, issued_at=NOW, serials=[HANDHELD, 0x0999])
    decoded = trust.apply_revocation(rev)
    assert (decoded.number, decoded.issued_at, decoded.serials) == (2, NOW, {HANDHELD, 0x0999})
    assert reason_of(trust.sender, HANDHELD, NOW) is Reject.REVOKED
    assert reason_of(trust.add_certificate, mission.handheld.cert, NOW) is Reject.REVOKED
    # An older (lower-serial) certificate for the address does not take the revoked one's place.
    older = mission.issue(HANDHELD, Role.HANDHELD, identity(65), serial=HANDHELD - 1)
    trust.add_certificate(older, NOW)
    assert reason_of(trust.sender, HANDHELD, NOW) is Reject.REVOKED
    # A newer certificate (the device re-keyed) does.
    newer = mission.issue(HANDHELD, Role.HANDHELD, identity(66), serial=0x1000)
    trust.add_certificate(newer, NOW)
    assert trust.sender(HANDHELD, NOW).sign_key == identity(66).sign_public


def test_revocation_lists_only_move_forward(mission: Mission) -> None:
    trust = mission.trust_store()
    auth = mission.authority
    trust.apply_revocation(auth.revoke(number=3, issued_at=NOW, serials=[HANDHELD]))
    trust.apply_revocation(auth.revoke(number=2, issued_at=NOW, serials=[]))  # stale: ignored
    assert trust.revocation_number == 3
    assert reason_of(trust.sender, HANDHELD, NOW) is Reject.REVOKED
    trust.apply_revocation(auth.revoke(number=4, issued_at=NOW, serials=[]))  # lists are cumulative
    assert trust.sender(HANDHELD, NOW).address == HANDHELD


def test_tampered_revocation(mission: Mission) -> None:
    rev = pb.Signed.FromString(mission.authority.revoke(number=1, issued_at=NOW, serials=[1]))
    body = pb.RevocationBody.FromString(rev.body)
    body.serials.append(HANDHELD)
    forged = pb.Signed(body=body.SerializeToString(), signature=rev.signature).SerializeToString()
    trust = mission.trust_store()
    assert reason_of(trust.apply_revocation, forged) is Reject.BAD_SIGNATURE
    assert reason_of(decode_revocation, b"\xff", trust.authority, mission.mission_id) is (
        Reject.MALFORMED_BODY
    )
    assert trust.sender(HANDHELD, NOW)


def test_newest_serial_wins(mission: Mission) -> None:
    trust = mission.trust_store()
    newer = mission.issue(0x0104, Role.MEDIC, identity(67), serial=20)
    older = mission.issue(0x0104, Role.TEAM_LEADER, identity(68), serial=10)
    trust.add_certificate(newer, NOW)
    # verified, but the certificate in force (the newer one) is what comes back and is held
    assert trust.add_certificate(older, NOW).serial == 20
    assert trust.sender(0x0104, NOW).role is Role.MEDIC
    assert reason_of(trust.sender, 0x0777, NOW) is Reject.UNKNOWN_SENDER
