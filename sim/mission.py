"""A mission's keys and certificates for simulated nodes, made deterministically from a seed."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tacmesh.protocol.addresses import Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.certificates import MissionAuthority
from tacmesh.protocol.crypto.identity import NodeIdentity
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.trust import TrustStore

VALIDITY_S = 30 * 86_400


def _seed(seed: int, label: str) -> bytes:
    return hashlib.sha256(f"tacmesh sim {seed} {label}".encode()).digest()


class SimMission:
    """Authority, network key and one identity and certificate per node. Every node trusts
    every certificate from the start (as if all had been exchanged), so all nodes share one
    trust store: a thousand nodes would otherwise verify a million certificates."""

    def __init__(self, seed: int, start: float) -> None:
        self.authority = MissionAuthority(
            Ed25519PrivateKey.from_private_bytes(_seed(seed, "authority"))
        )
        self.network_key = _seed(seed, "network key")
        self.seed = seed
        self.start = int(start)
        self.certificates: dict[int, bytes] = {}
        self.identities: dict[int, NodeIdentity] = {}
        self.trust = TrustStore(self.authority.public_key)

    def enrol(self, address: int, role: Role) -> WireCodec:
        ident = NodeIdentity.from_seeds(
            _seed(self.seed, f"sign {address}"), _seed(self.seed, f"dh {address}")
        )
        cert = self.authority.issue(
            serial=address,
            address=address,
            role=role,
            sign_key=ident.sign_public,
            dh_key=ident.dh_public,
            not_before=self.start - 3600,
            not_after=self.start + VALIDITY_S,
        )
        self.identities[address], self.certificates[address] = ident, cert
        self.trust.add_certificate(cert, self.start)
        keyring = NetworkKeyring(self.authority.mission_id, self.network_key)
        return WireCodec(address, ident, self.trust, keyring)
