"""Shared fixtures: a small deterministic mission (authority, network key, four nodes).

Hypothesis profiles: ``ci`` (default) keeps the suite fast; ``long`` runs many more
examples. Select with ``TACMESH_HYPOTHESIS_PROFILE=long``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings

from tacmesh.protocol.addresses import Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.compact import (
    Motion,
    PositionReport,
    ResponderState,
    StatusReport,
    VitalSigns,
)
from tacmesh.protocol.crypto.certificates import MissionAuthority, Permission, decode_certificate
from tacmesh.protocol.crypto.identity import NodeIdentity
from tacmesh.protocol.crypto.keys import NetworkKeyring, issue_key_update
from tacmesh.protocol.crypto.trust import TrustStore
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.heard import pack as pack_heard
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import control_pb2, messages_pb2, security_pb2

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("TACMESH_HYPOTHESIS_PROFILE", "ci"))

NOW = 1_000_000
"""The ``now`` every test uses unless it is testing validity periods."""
NOT_AFTER = 2**40
NETWORK_KEY = bytes(range(32))

COMMAND_POST = 0x0001
HANDHELD = 0x0101
TEAM_RELAY = 0x0201
GATEWAY = 0x0301


def identity(seed: int) -> NodeIdentity:
    """A deterministic identity: cheap to build and the same on every run."""
    return NodeIdentity.from_seeds(bytes([seed]) * 32, bytes([seed ^ 0x80]) * 32)


@dataclass
class Node:
    address: int
    role: Role
    identity: NodeIdentity
    cert: bytes
    """The encoded certificate (``Signed`` bytes); its serial equals the address."""
    codec: WireCodec


@dataclass
class Mission:
    authority: MissionAuthority
    network_key: bytes
    nodes: dict[int, Node]

    @property
    def mission_id(self) -> int:
        return self.authority.mission_id

    @property
    def command_post(self) -> Node:
        return self.nodes[COMMAND_POST]

    @property
    def handheld(self) -> Node:
        return self.nodes[HANDHELD]

    @property
    def relay(self) -> Node:
        return self.nodes[TEAM_RELAY]

    @property
    def gateway(self) -> Node:
        return self.nodes[GATEWAY]

    def issue(
        self,
        address: int,
        role: Role,
        ident: NodeIdentity,
        *,
        serial: int | None = None,
        not_before: int = 0,
        not_after: int = NOT_AFTER,
        permissions: Permission | None = None,
    ) -> bytes:
        return self.authority.issue(
            serial=address if serial is None else serial,
            address=address,
            role=role,
            sign_key=ident.sign_public,
            dh_key=ident.dh_public,
            not_before=not_before,
            not_after=not_after,
            permissions=permissions,
        )

    def trust_store(self) -> TrustStore:
        return trust_store(self.authority, [node.cert for node in self.nodes.values()])

    def keyring(self, network_key: bytes | None = None, epoch: int = 0) -> NetworkKeyring:
        key = self.network_key if network_key is None else network_key
        return NetworkKeyring(self.mission_id, key, epoch)

    def codec(
        self,
        address: int,
        ident: NodeIdentity | None = None,
        *,
        keyring: NetworkKeyring | None = None,
        trust: TrustStore | None = None,
    ) -> WireCodec:
        """A fresh codec (own trust store, keyring and replay state) speaking as ``address``."""
        return WireCodec(
            address,
            self.nodes[address].identity if ident is None else ident,
            self.trust_store() if trust is None else trust,
            self.keyring() if keyring is None else keyring,
        )


def trust_store(authority: MissionAuthority, certs: list[bytes]) -> TrustStore:
    trust = TrustStore(authority.public_key)
    for cert in certs:
        trust.add_certificate(cert, NOW)
    return trust


NODE_ROLES = {
    COMMAND_POST: Role.COMMAND_POST,
    HANDHELD: Role.HANDHELD,
    TEAM_RELAY: Role.TEAM_RELAY,
    GATEWAY: Role.GATEWAY,
}


def build_mission(authority_seed: int = 0xA5, network_key: bytes = NETWORK_KEY) -> Mission:
    """Authority, network key and the four nodes, each holding every certificate."""
    authority = MissionAuthority(Ed25519PrivateKey.from_private_bytes(bytes([authority_seed]) * 32))
    mission = Mission(authority, network_key, {})
    idents = {addr: identity(seed) for seed, addr in enumerate(NODE_ROLES, start=1)}
    certs = {addr: mission.issue(addr, NODE_ROLES[addr], idents[addr]) for addr in NODE_ROLES}
    for addr, role in NODE_ROLES.items():
        trust = trust_store(authority, list(certs.values()))
        codec = WireCodec(addr, idents[addr], trust, mission.keyring())
        mission.nodes[addr] = Node(addr, role, idents[addr], certs[addr], codec)
    return mission


FIX = PositionReport.from_degrees(31.2345, 103.98765, alt_m=1200, accuracy_m=4)


def sample_bodies(m: Mission) -> dict[FrameType, Body]:
    """One body per frame type, each with non-default fields."""
    ref = messages_pb2.MessageRef(origin=HANDHELD, msg_id=9)
    authority = m.command_post.codec.trust.authority
    certs = [decode_certificate(n.cert, authority, m.mission_id) for n in m.nodes.values()]
    return {
        FrameType.HELLO: control_pb2.Hello(
            seqno=7, interval_ms=2000, heard=pack_heard([(TEAM_RELAY, 200)])
        ),
        FrameType.ROUTE_UPDATE: control_pb2.RouteUpdate(
            interval_ms=5000,
            routes=[control_pb2.RouteEntry(prefix=0x1200, host_bits=8, metric=0xFFFF)],
        ),
        FrameType.ROUTE_REQUEST: control_pb2.RouteRequest(
            routes=[control_pb2.WantedRoute(prefix=0x1200, host_bits=8, seqno=3)], hop_count=4
        ),
        FrameType.CUSTODY_ACK: control_pb2.CustodyAck(
            refs=[ref], result=control_pb2.CUSTODY_DUPLICATE
        ),
        FrameType.CERTIFICATE: security_pb2.Signed.FromString(m.handheld.cert),
        FrameType.REVOCATION: security_pb2.Signed.FromString(
            m.authority.revoke(number=1, issued_at=NOW, serials=[0x0999])
        ),
        FrameType.KEY_UPDATE: security_pb2.Signed.FromString(
            issue_key_update(
                m.authority,
                epoch=1,
                activate_at=NOW,
                retire_previous_at=NOW + 600,
                network_key=b"k" * 32,
                recipients=certs,
            )
        ),
        FrameType.MGMT_REPORT: control_pb2.MgmtReport(
            uptime_s=3600, rejects={"bad_tag": 2}, position=messages_pb2.Position(lat_e7=1)
        ),
        FrameType.MGMT_CONFIG: control_pb2.MgmtConfig(
            config_version=2, settings=[control_pb2.ConfigSetting(key="hello_ms", value="2000")]
        ),
        FrameType.POSITION: FIX,
        FrameType.STATUS: StatusReport(ResponderState.ON_SCENE, 80, 30),
        FrameType.VITALS: VitalSigns(72, 97, 33.25, 16, Motion.STILL, alarm=True),
        FrameType.SOS: messages_pb2.Sos(
            sos_id=1, kind=messages_pb2.SOS_TRAPPED, position=FIX.encode(), note="leg trapped"
        ),
        FrameType.SOS_ACK: messages_pb2.SosAck(sos_origin=HANDHELD, sos_id=1, eta_s=600),
        FrameType.TEXT: messages_pb2.Text(body="water rising at stairwell B", reply_to=4),
        FrameType.SENSOR: messages_pb2.SensorReading(
            sensor_id=2,
            readings=[messages_pb2.GasReading(gas=messages_pb2.CO, value_milli=-5, alarm=2)],
        ),
        FrameType.ORDER: messages_pb2.Order(
            order_id=3, kind=messages_pb2.ORDER_WITHDRAW, target=FIX.encode(), ack_required=True
        ),
        FrameType.ORDER_ACK: messages_pb2.OrderAck(order_origin=COMMAND_POST, order_id=3),
        FrameType.DELIVERY_ACK: messages_pb2.DeliveryAck(refs=[ref, ref]),
        FrameType.BULK: messages_pb2.Bulk(object_id=1, total_len=3, data=b"\x89PN"),
    }


@pytest.fixture
def mission() -> Mission:
    """A fresh mission per test: codecs start with empty replay windows and reject counts."""
    return build_mission()


@pytest.fixture(scope="session")
def shared_mission() -> Mission:
    """One mission for hypothesis tests (function-scoped fixtures do not reset per example).

    Tests using it must not depend on replay state or reject counts they did not create.
    """
    return build_mission()


@pytest.fixture(scope="session")
def other_mission() -> Mission:
    """A second mission (another authority and network key), for cross-mission tests."""
    return build_mission(authority_seed=0x5A, network_key=bytes(range(100, 132)))
