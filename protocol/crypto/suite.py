"""Primitives and domain labels of the v1 suite, in one place (SPEC.md §7.1).

Every key derivation and signature in the protocol names its purpose with a label below,
so that no key or signature made for one purpose is ever valid for another.
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL_MISSION = b"tacmesh v1 mission"
LABEL_HOP_KEY = b"tacmesh v1 hop key"
LABEL_E2E_SIGN = b"tacmesh v1 e2e"
LABEL_SEAL = b"tacmesh v1 seal"
LABEL_CERT = b"tacmesh v1 certificate"
LABEL_REVOCATION = b"tacmesh v1 revocation"
LABEL_KEY_UPDATE = b"tacmesh v1 key update"
LABEL_KEY_WRAP = b"tacmesh v1 key wrap"

NETWORK_KEY_LEN = 32
HOP_KEY_LEN = 16
SIGNATURE_LEN = 64
PUBLIC_KEY_LEN = 32
SEAL_TAG_LEN = 16
NARROWBAND_TAG_LEN = 4
"""Hop tag on narrowband radios, where every forgery attempt costs airtime (SPEC.md §7.4.3)."""
SERIAL_TAG_LEN = 8
"""Hop tag on medium-rate serial radios."""
IP_TAG_LEN = 16
"""Hop tag on UDP and MQTT, where an attacker can try at line rate."""
TAG_LENGTHS = (NARROWBAND_TAG_LEN, SERIAL_TAG_LEN, IP_TAG_LEN)
"""Hop tag lengths a bearer may be configured with (SPEC.md §7.4)."""

_U32 = struct.Struct(">I")


def u32(value: int) -> bytes:
    return _U32.pack(value)


def hkdf(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def mission_id_of(authority_public_key: bytes) -> int:
    """The 32-bit mission id: a new authority key is, by construction, a new mission."""
    digest = hashlib.sha256(LABEL_MISSION + authority_public_key).digest()
    return int.from_bytes(digest[:4], "big")


def hop_key(network_key: bytes, mission_id: int, epoch: int) -> bytes:
    """The AES-128 key that protects every frame of ``epoch`` on every hop."""
    return hkdf(
        network_key, salt=u32(mission_id), info=LABEL_HOP_KEY + u32(epoch), length=HOP_KEY_LEN
    )
