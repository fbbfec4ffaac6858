"""Network key epochs and their rotation (SPEC.md §7.4, §7.7).

Every mission node holds the network key of the current epoch; frames carry the epoch's
low bit (the key phase). To cut off a lost or captured device the authority revokes its
certificate and sends a KEY_UPDATE that wraps a fresh network key for every other node,
each with that node's X25519 key; the captured device cannot unwrap it, and once the
new epoch is active its frames no longer verify anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from tacmesh.protocol.crypto.certificates import (
    Certificate,
    MissionAuthority,
    open_signed,
    parse_pb,
    sign_object,
)
from tacmesh.protocol.crypto.identity import NodeIdentity, raw_public
from tacmesh.protocol.crypto.suite import (
    LABEL_KEY_UPDATE,
    LABEL_KEY_WRAP,
    NETWORK_KEY_LEN,
    SEAL_TAG_LEN,
    hkdf,
    hop_key,
    u32,
)
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.pb import security_pb2 as pb

_ZERO_NONCE = bytes(13)


class NetworkKeyring:
    """Hop keys by epoch: the current one (used to send) and at most one other. A
    receiver uses the newest held epoch whose low bit matches the frame's key phase."""

    def __init__(self, mission_id: int, network_key: bytes, epoch: int = 0) -> None:
        self.mission_id = mission_id
        self._ciphers: dict[int, dict[int, AESCCM]] = {}
        self._keys: dict[int, bytes] = {}
        self._by_phase: dict[int, int] = {}
        """Key phase -> newest held epoch with that low bit: looked up for every frame."""
        self.current = epoch
        self.install(epoch, network_key)

    @property
    def epochs(self) -> list[int]:
        return sorted(self._keys)

    def install(self, epoch: int, network_key: bytes) -> None:
        """Hold ``epoch``'s key beside the current one; any third epoch is dropped.

        The current epoch is never dropped here, so the node can always send."""
        if len(network_key) != NETWORK_KEY_LEN:
            raise ValueError("a network key is 32 bytes")
        self._keys[epoch] = hop_key(network_key, self.mission_id, epoch)
        self._ciphers[epoch] = {}
        others = sorted(e for e in self._keys if e != self.current)
        keep = {self.current, *others[-1:]}
        for old in [e for e in self._keys if e not in keep]:
            del self._keys[old], self._ciphers[old]
        self._index_phases()

    def retire(self, epoch: int) -> None:
        """Drop ``epoch``'s key (SPEC.md §7.7: at ``retire_previous_at``); from then on its
        frames fail, which is what cuts off a device left out of the key update."""
        if epoch == self.current:
            raise ValueError(f"epoch {epoch} is the one this node sends with; activate another")
        self._keys.pop(epoch, None)
        self._ciphers.pop(epoch, None)
        self._index_phases()

    def _index_phases(self) -> None:
        self._by_phase = {epoch & 1: epoch for epoch in sorted(self._keys)}

    def activate(self, epoch: int) -> None:
        if epoch not in self._keys:
            raise ValueError(f"no key installed for epoch {epoch}")
        self.current = epoch

    def epoch_for_phase(self, phase: int) -> int:
        epoch = self._by_phase.get(phase)
        if epoch is None:
            raise FrameError(Reject.UNKNOWN_EPOCH, f"no network key for key phase {phase}")
        return epoch

    def cipher(self, epoch: int, tag_len: int) -> AESCCM:
        by_tag = self._ciphers[epoch]
        aead = by_tag.get(tag_len)
        if aead is None:
            aead = by_tag[tag_len] = AESCCM(self._keys[epoch], tag_length=tag_len)
        return aead

    def hop_key(self, epoch: int) -> bytes:
        return self._keys[epoch]


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    epoch: int
    activate_at: int
    retire_previous_at: int
    """When nodes drop the previous epoch's key (Unix seconds)."""
    network_key: bytes | None
    """The new key, if this node was among the recipients; ``None`` if it was cut off."""


def _wrap_key(shared: bytes, eph_pub: bytes, mission_id: int, epoch: int, address: int) -> AESCCM:
    info = LABEL_KEY_WRAP + u32(mission_id) + u32(epoch) + address.to_bytes(2, "big")
    return AESCCM(hkdf(shared, salt=eph_pub, info=info, length=16), tag_length=SEAL_TAG_LEN)


def issue_key_update(
    authority: MissionAuthority,
    *,
    epoch: int,
    activate_at: int,
    retire_previous_at: int,
    network_key: bytes,
    recipients: list[Certificate],
    ephemeral: X25519PrivateKey | None = None,
) -> bytes:
    """Wrap ``network_key`` for each recipient and sign the lot."""
    eph = ephemeral or X25519PrivateKey.generate()
    eph_pub = raw_public(eph)
    wrapped = []
    for cert in recipients:
        shared = eph.exchange(X25519PublicKey.from_public_bytes(cert.dh_key))
        aead = _wrap_key(shared, eph_pub, authority.mission_id, epoch, cert.address)
        wrapped.append(
            pb.WrappedKey(
                address=cert.address, wrapped=aead.encrypt(_ZERO_NONCE, network_key, None)
            )
        )
    body = pb.KeyUpdateBody(
        mission_id=authority.mission_id,
        epoch=epoch,
        activate_at=activate_at,
        retire_previous_at=retire_previous_at,
        ephemeral_key=eph_pub,
        keys=wrapped,
    )
    return sign_object(authority.key, LABEL_KEY_UPDATE, body.SerializeToString())


def _key_update_body(body: bytes) -> tuple[int, pb.KeyUpdateBody]:
    msg = parse_pb(pb.KeyUpdateBody, body, "key update")
    return msg.mission_id, msg


def open_key_update(
    data: bytes,
    *,
    authority_key: Ed25519PublicKey,
    mission_id: int,
    address: int,
    identity: NodeIdentity,
) -> KeyUpdate:
    """Verify a KEY_UPDATE and unwrap this node's copy of the new key, if it has one."""
    body = open_signed(data, LABEL_KEY_UPDATE, authority_key, _key_update_body, mission_id)
    if len(body.ephemeral_key) != 32:
        raise FrameError(Reject.BAD_FIELD, "key update ephemeral key must be 32 bytes")
    mine = [w for w in body.keys if w.address == address]
    if not mine:
        return KeyUpdate(body.epoch, body.activate_at, body.retire_previous_at, None)
    try:
        shared = identity.dh_key.exchange(X25519PublicKey.from_public_bytes(body.ephemeral_key))
    except ValueError:  # an all-zero shared secret: a low-order point, as in e2e._unseal
        raise FrameError(Reject.BAD_FIELD, "ephemeral key is a low-order point") from None
    aead = _wrap_key(shared, body.ephemeral_key, mission_id, body.epoch, address)
    try:
        key = aead.decrypt(_ZERO_NONCE, mine[0].wrapped, None)
    except InvalidTag:
        raise FrameError(Reject.BAD_SEAL, "wrapped network key does not open") from None
    if len(key) != NETWORK_KEY_LEN:
        raise FrameError(Reject.BAD_FIELD, "wrapped network key is not 32 bytes")
    return KeyUpdate(body.epoch, body.activate_at, body.retire_previous_at, key)
