"""The fixed mission every conformance vector is computed in (keys from seeds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tacmesh.protocol.addresses import Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.certificates import MissionAuthority
from tacmesh.protocol.crypto.identity import NodeIdentity
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.trust import TrustStore


@dataclass
class VectorNode:
    address: int
    identity: NodeIdentity
    certificate: bytes


class VectorMission:
    """Authority, network keys and nodes as the ``keys`` section of vectors.json gives them."""

    def __init__(self, keys: dict[str, Any]) -> None:
        self.keys = keys
        seed = bytes.fromhex(keys["authority_seed"])
        self.authority = MissionAuthority(Ed25519PrivateKey.from_private_bytes(seed))
        self.network_keys = {int(e): bytes.fromhex(k) for e, k in keys["network_keys"].items()}
        self.now = int(keys["now"])
        not_before, not_after = keys["cert_validity"]
        self.nodes: dict[int, VectorNode] = {}
        for text, spec in keys["nodes"].items():
            addr = int(text, 0)
            ident = NodeIdentity.from_seeds(
                bytes.fromhex(spec["sign_seed"]), bytes.fromhex(spec["dh_seed"])
            )
            cert = self.authority.issue(
                serial=spec["serial"],
                address=addr,
                role=Role[spec["role"]],
                sign_key=ident.sign_public,
                dh_key=ident.dh_public,
                not_before=not_before,
                not_after=not_after,
                callsign=spec.get("callsign", ""),
                team=spec.get("team", 0),
            )
            self.nodes[addr] = VectorNode(addr, ident, cert)

    def keyring(self, epoch: int = 0) -> NetworkKeyring:
        ring = NetworkKeyring(self.authority.mission_id, self.network_keys[0], 0)
        for e in sorted(self.network_keys):
            if 0 < e <= epoch:
                ring.install(e, self.network_keys[e])
        ring.activate(epoch)
        return ring

    def codec(self, address: int, epoch: int = 0) -> WireCodec:
        """A fresh codec (fresh replay windows) for ``address``, trusting every node."""
        trust = TrustStore(self.authority.public_key)
        for node in self.nodes.values():
            trust.add_certificate(node.certificate, self.now)
        return WireCodec(address, self.nodes[address].identity, trust, self.keyring(epoch))
