"""Certificates, revocation lists and the mission authority (SPEC.md §7.2, §7.3).

The mission authority (held at the command post) signs every certificate that binds a
node address to its keys, role and permissions, and every revocation list. Objects travel
as ``Signed`` protobufs: the signature covers a label and the body bytes exactly as sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntFlag
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from google.protobuf.message import DecodeError, Message

from tacmesh.protocol.addresses import Role, is_unicast
from tacmesh.protocol.crypto.identity import raw_public
from tacmesh.protocol.crypto.suite import (
    LABEL_CERT,
    LABEL_REVOCATION,
    PUBLIC_KEY_LEN,
    SIGNATURE_LEN,
    mission_id_of,
)
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.pb import security_pb2 as pb

_M = TypeVar("_M", bound=Message)
_T = TypeVar("_T")


class Permission(IntFlag):
    SEND = 0x01
    RELAY = 0x02
    ISSUE_ORDERS = 0x04
    REMOTE_CONFIG = 0x08
    ANNOUNCE_PREFIX = 0x10
    UPLINK = 0x20
    ACK_SOS = 0x40


ROLE_PERMISSIONS: dict[Role, Permission] = {
    Role.HANDHELD: Permission.SEND,
    Role.SENSOR: Permission.SEND,
    Role.MEDIC: Permission.SEND | Permission.ACK_SOS,
    Role.TEAM_LEADER: Permission.SEND | Permission.ACK_SOS | Permission.RELAY,
    Role.TEAM_RELAY: Permission.SEND | Permission.RELAY,
    Role.GATEWAY: Permission.SEND
    | Permission.RELAY
    | Permission.ANNOUNCE_PREFIX
    | Permission.UPLINK,
    Role.GROUND_BACKBONE: Permission.SEND | Permission.RELAY | Permission.ANNOUNCE_PREFIX,
    Role.UAV_RELAY: Permission.SEND | Permission.RELAY,
    Role.COMMAND_POST: Permission(0x7F),
}
"""What each role is granted unless the authority says otherwise."""


@dataclass(frozen=True, slots=True)
class Certificate:
    mission_id: int
    serial: int
    address: int
    role: Role
    permissions: Permission
    not_before: int
    not_after: int
    sign_key: bytes
    dh_key: bytes
    callsign: str = ""
    team: int = 0
    encoded: bytes = field(default=b"", compare=False, repr=False)
    """The ``Signed`` bytes as issued, for forwarding in CERTIFICATE frames."""

    def valid_at(self, now: float) -> bool:
        return self.not_before <= now <= self.not_after


def parse_pb(cls: type[_M], data: bytes, what: str) -> _M:
    """Parse protobuf bytes, turning every protobuf failure into MALFORMED_BODY."""
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise FrameError(Reject.MALFORMED_BODY, f"{what}: {exc}") from None
    return msg


def sign_object(key: Ed25519PrivateKey, label: bytes, body: bytes) -> bytes:
    return pb.Signed(body=body, signature=key.sign(label + body)).SerializeToString()


def open_signed(
    data: bytes,
    label: bytes,
    key: Ed25519PublicKey,
    parse: Callable[[bytes], tuple[int, _T]],
    mission_id: int,
) -> _T:
    """Check mission, then signature, of a ``Signed`` object; return the parsed body."""
    signed = parse_pb(pb.Signed, data, "signed object")
    body_mission, body = parse(signed.body)
    if body_mission != mission_id:
        raise FrameError(Reject.WRONG_MISSION, f"mission {body_mission:08x}, ours {mission_id:08x}")
    if len(signed.signature) != SIGNATURE_LEN:
        raise FrameError(Reject.BAD_SIGNATURE, "signature is not 64 bytes")
    try:
        key.verify(signed.signature, label + signed.body)
    except InvalidSignature:
        raise FrameError(Reject.BAD_SIGNATURE, f"{label.decode()} signature") from None
    return body


def _certificate_body(body: bytes) -> tuple[int, pb.CertificateBody]:
    cert = parse_pb(pb.CertificateBody, body, "certificate")
    return cert.mission_id, cert


def decode_certificate(data: bytes, authority: Ed25519PublicKey, mission_id: int) -> Certificate:
    """Verify a certificate's signature and fields (not its validity period or revocation)."""
    body = open_signed(data, LABEL_CERT, authority, _certificate_body, mission_id)
    if len(body.sign_key) != PUBLIC_KEY_LEN or len(body.dh_key) != PUBLIC_KEY_LEN:
        raise FrameError(Reject.BAD_FIELD, "certificate keys must be 32 bytes")
    if not is_unicast(body.address):
        raise FrameError(Reject.BAD_FIELD, f"certificate address 0x{body.address:x}")
    if body.role not in Role._value2member_map_:
        raise FrameError(Reject.BAD_FIELD, f"certificate role {body.role}")
    return Certificate(
        mission_id=body.mission_id,
        serial=body.serial,
        address=body.address,
        role=Role(body.role),
        permissions=Permission(body.permissions & 0x7F),
        not_before=body.not_before,
        not_after=body.not_after,
        sign_key=body.sign_key,
        dh_key=body.dh_key,
        callsign=body.callsign,
        team=body.team,
        encoded=data,
    )


@dataclass(frozen=True, slots=True)
class Revocation:
    mission_id: int
    number: int
    issued_at: int
    serials: frozenset[int]
    encoded: bytes = field(default=b"", compare=False, repr=False)


def _revocation_body(body: bytes) -> tuple[int, pb.RevocationBody]:
    rev = parse_pb(pb.RevocationBody, body, "revocation")
    return rev.mission_id, rev


def decode_revocation(data: bytes, authority: Ed25519PublicKey, mission_id: int) -> Revocation:
    body = open_signed(data, LABEL_REVOCATION, authority, _revocation_body, mission_id)
    return Revocation(body.mission_id, body.number, body.issued_at, frozenset(body.serials), data)


class MissionAuthority:
    """The command post's signing key; issues certificates, revocations and key updates."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.public_key = raw_public(key)
        self.mission_id = mission_id_of(self.public_key)

    @classmethod
    def generate(cls) -> MissionAuthority:
        return cls(Ed25519PrivateKey.generate())

    def issue(
        self,
        *,
        serial: int,
        address: int,
        role: Role,
        sign_key: bytes,
        dh_key: bytes,
        not_before: int,
        not_after: int,
        permissions: Permission | None = None,
        callsign: str = "",
        team: int = 0,
    ) -> bytes:
        """Return the encoded certificate (``Signed`` bytes)."""
        if not is_unicast(address):
            raise ValueError(f"0x{address:04x} is not a unicast node address")
        body = pb.CertificateBody(
            mission_id=self.mission_id,
            serial=serial,
            address=address,
            role=int(role),
            permissions=int(ROLE_PERMISSIONS[role] if permissions is None else permissions),
            not_before=not_before,
            not_after=not_after,
            sign_key=sign_key,
            dh_key=dh_key,
            callsign=callsign,
            team=team,
        )
        return sign_object(self.key, LABEL_CERT, body.SerializeToString())

    def revoke(self, *, number: int, issued_at: int, serials: list[int]) -> bytes:
        body = pb.RevocationBody(
            mission_id=self.mission_id, number=number, issued_at=issued_at, serials=sorted(serials)
        )
        return sign_object(self.key, LABEL_REVOCATION, body.SerializeToString())
