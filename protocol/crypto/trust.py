"""What a node believes about the mission (SPEC.md §7.3): the authority's key, the
certificates it has seen, and the newest revocation list.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tacmesh.protocol.crypto.certificates import (
    Certificate,
    Permission,
    Revocation,
    decode_certificate,
    decode_revocation,
)
from tacmesh.protocol.crypto.suite import mission_id_of
from tacmesh.protocol.errors import FrameError, Reject


class TrustStore:
    def __init__(self, authority_public_key: bytes) -> None:
        self.authority_public_key = authority_public_key
        self.authority = Ed25519PublicKey.from_public_bytes(authority_public_key)
        self.mission_id = mission_id_of(authority_public_key)
        self.certificates: dict[int, Certificate] = {}
        self.revoked: frozenset[int] = frozenset()
        self.revocation_number = -1

    def add_certificate(self, data: bytes, now: float) -> Certificate:
        """Verify and remember a certificate; the newest serial for an address wins."""
        cert = decode_certificate(data, self.authority, self.mission_id)
        self._check_usable(cert, now)
        held = self.certificates.get(cert.address)
        if held is None or cert.serial > held.serial:
            self.certificates[cert.address] = held = cert
        return held

    def apply_revocation(self, data: bytes) -> Revocation:
        """Install a revocation list if it is newer than the one held (lists are cumulative).

        Revoked certificates stay held, so their holder is rejected as REVOKED (not
        UNKNOWN_SENDER) and an older certificate for the same address cannot replace them.
        """
        rev = decode_revocation(data, self.authority, self.mission_id)
        if rev.number > self.revocation_number:
            self.revocation_number = rev.number
            self.revoked = rev.serials
        return rev

    def sender(self, address: int, now: float, needs: Permission = Permission.SEND) -> Certificate:
        """The usable certificate of ``address`` with permission ``needs``, or FrameError."""
        cert = self.certificates.get(address)
        if cert is None:
            raise FrameError(Reject.UNKNOWN_SENDER, f"no certificate for 0x{address:04x}")
        self._check_usable(cert, now)
        if needs & ~cert.permissions:
            raise FrameError(
                Reject.NOT_PERMITTED, f"0x{address:04x} ({cert.role.name}) lacks {needs!r}"
            )
        return cert

    def _check_usable(self, cert: Certificate, now: float) -> None:
        if cert.serial in self.revoked:
            raise FrameError(Reject.REVOKED, f"certificate {cert.serial} of 0x{cert.address:04x}")
        if not cert.valid_at(now):
            raise FrameError(
                Reject.EXPIRED,
                f"certificate {cert.serial} is valid {cert.not_before}..{cert.not_after}"
                f" (Unix s), now is {int(now)}",
            )
