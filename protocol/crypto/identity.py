"""A node's long-term identity: one Ed25519 key to sign, one X25519 key to receive sealed data."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NodeIdentity:
    sign_key: Ed25519PrivateKey
    dh_key: X25519PrivateKey

    @classmethod
    def generate(cls) -> NodeIdentity:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def from_seeds(cls, sign_seed: bytes, dh_seed: bytes) -> NodeIdentity:
        """Rebuild from the 32-byte private seeds (key files, test vectors)."""
        return cls(
            Ed25519PrivateKey.from_private_bytes(sign_seed),
            X25519PrivateKey.from_private_bytes(dh_seed),
        )

    @property
    def sign_public(self) -> bytes:
        return raw_public(self.sign_key)

    @property
    def dh_public(self) -> bytes:
        return raw_public(self.dh_key)

    def sign(self, data: bytes) -> bytes:
        return self.sign_key.sign(data)
