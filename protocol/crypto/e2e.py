"""End-to-end envelopes (SPEC.md §7.6): sender signatures and sealing to one recipient.

Hop protection proves only that some mission node sent a frame. Orders, SOS calls and
remote configuration must be provably from their origin, so their payload carries the
origin's Ed25519 signature over the fields no relay may change. Data for one recipient
may also be sealed to that recipient's X25519 key, so relays cannot read it.

Envelope (the payload when the header's E flag is set)::

    mode (1)   bit 0 SIGNED, bit 1 SEALED, other bits zero
    if SEALED: ephemeral X25519 key (32) || AES-128-CCM(inner) with a 16-byte tag
    else:      inner
    inner = body || signature (64, if SIGNED)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from tacmesh.protocol.crypto.identity import NodeIdentity, raw_public
from tacmesh.protocol.crypto.suite import (
    LABEL_E2E_SIGN,
    LABEL_SEAL,
    PUBLIC_KEY_LEN,
    SEAL_TAG_LEN,
    SIGNATURE_LEN,
    hkdf,
    u32,
)
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType

SIGNED = 0x01
SEALED = 0x02
_BINDING = struct.Struct(">IBHHI")
_ZERO_NONCE = bytes(13)


@dataclass(frozen=True, slots=True)
class Binding:
    """The immutable fields an envelope is bound to, so it cannot be moved to another frame."""

    mission_id: int
    type: FrameType
    origin: int
    destination: int
    msg_id: int

    def encode(self) -> bytes:
        return _BINDING.pack(
            self.mission_id, int(self.type), self.origin, self.destination, self.msg_id
        )


@dataclass(frozen=True, slots=True)
class Opened:
    body: bytes
    signed: bool
    sealed: bool


def wrap(
    body: bytes,
    binding: Binding,
    *,
    signer: NodeIdentity | None = None,
    seal_to: bytes | None = None,
    ephemeral: X25519PrivateKey | None = None,
) -> bytes:
    """Build the envelope: sign with ``signer``, seal to the X25519 key ``seal_to``."""
    mode = (SIGNED if signer else 0) | (SEALED if seal_to else 0)
    if not mode:
        raise ValueError("an envelope must be signed, sealed or both")
    inner = body
    if signer is not None:
        inner = body + signer.sign(LABEL_E2E_SIGN + binding.encode() + body)
    if seal_to is None:
        return bytes([mode]) + inner
    eph = ephemeral or X25519PrivateKey.generate()
    eph_pub = raw_public(eph)
    aead = _seal_cipher(
        eph.exchange(X25519PublicKey.from_public_bytes(seal_to)), eph_pub, seal_to, binding
    )
    return bytes([mode]) + eph_pub + aead.encrypt(_ZERO_NONCE, inner, binding.encode())


def unwrap(
    envelope: bytes,
    binding: Binding,
    *,
    sender_key: bytes | None,
    recipient: NodeIdentity | None = None,
) -> Opened:
    """Open and verify; ``sender_key`` is the origin's Ed25519 key from its certificate."""
    if not envelope:
        raise FrameError(Reject.TRUNCATED, "empty end-to-end envelope")
    mode, rest = envelope[0], envelope[1:]
    if mode & ~(SIGNED | SEALED) or not mode:
        raise FrameError(Reject.RESERVED_BITS, f"envelope mode 0x{mode:02x}")
    if mode & SEALED:
        rest = _unseal(rest, binding, recipient)
    if not mode & SIGNED:
        return Opened(rest, signed=False, sealed=True)
    if len(rest) < SIGNATURE_LEN:
        raise FrameError(Reject.TRUNCATED, "signature")
    body, signature = rest[:-SIGNATURE_LEN], rest[-SIGNATURE_LEN:]
    if sender_key is None:
        raise FrameError(Reject.UNKNOWN_SENDER, f"signed by 0x{binding.origin:04x}")
    try:
        Ed25519PublicKey.from_public_bytes(sender_key).verify(
            signature, LABEL_E2E_SIGN + binding.encode() + body
        )
    except InvalidSignature:
        raise FrameError(Reject.BAD_SIGNATURE, f"from 0x{binding.origin:04x}") from None
    return Opened(body, signed=True, sealed=bool(mode & SEALED))


def _unseal(data: bytes, binding: Binding, recipient: NodeIdentity | None) -> bytes:
    if recipient is None:
        raise FrameError(Reject.BAD_SEAL, "sealed to a node, not to this one")
    if len(data) < PUBLIC_KEY_LEN + SEAL_TAG_LEN:
        raise FrameError(Reject.TRUNCATED, "sealed envelope")
    eph_pub = data[:PUBLIC_KEY_LEN]
    try:
        shared = recipient.dh_key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError:  # an all-zero shared secret: a malicious low-order point
        raise FrameError(Reject.BAD_SEAL, "ephemeral key is a low-order point") from None
    aead = _seal_cipher(shared, eph_pub, recipient.dh_public, binding)
    try:
        return aead.decrypt(_ZERO_NONCE, data[PUBLIC_KEY_LEN:], binding.encode())
    except InvalidTag:
        raise FrameError(Reject.BAD_SEAL, "sealed envelope does not open") from None


def _seal_cipher(shared: bytes, eph_pub: bytes, recipient_pub: bytes, binding: Binding) -> AESCCM:
    # The key is used for one message only, so a fixed nonce is safe.
    info = LABEL_SEAL + u32(binding.mission_id)
    key = hkdf(shared, salt=eph_pub + recipient_pub, info=info, length=16)
    return AESCCM(key, tag_length=SEAL_TAG_LEN)
