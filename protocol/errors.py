"""The one exception that wire input can raise, and the reasons it names.

Every decoder in ``tacmesh.protocol`` turns malformed, forged, replayed or unauthorised
input into :class:`FrameError` carrying a :class:`Reject` code; nothing else (no
``IndexError``, ``struct.error`` or protobuf ``DecodeError``) escapes. Callers catch the
one type and count ``err.reason`` (see :class:`RejectCounter`). SPEC.md section 10 lists the
codes; their numeric values are stable (they appear in management reports).
"""

from __future__ import annotations

from collections import Counter
from enum import IntEnum


class Reject(IntEnum):
    """Why an input was rejected (SPEC.md §10)."""

    TRUNCATED = 1
    """Fewer bytes than the layout needs."""
    OVERSIZED = 2
    """More bytes than the layout or the bearer allows."""
    BAD_VERSION = 3
    """Version field is not 1."""
    UNKNOWN_TYPE = 4
    """Frame type not defined in this version."""
    RESERVED_BITS = 5
    """A bit that MUST be zero is set."""
    BAD_FIELD = 6
    """A field holds a value outside its range (an address of 0, a reserved priority...)."""
    BAD_TAG = 7
    """Hop authentication tag does not verify (forged, altered or wrong mission key)."""
    UNKNOWN_EPOCH = 8
    """No network key is held for the frame's key phase."""
    REPLAYED = 9
    """Counter already seen, or older than the replay window."""
    MALFORMED_BODY = 10
    """The payload does not decode as the message its type names."""
    BAD_SIGNATURE = 11
    """A mission-authority or end-to-end signature does not verify."""
    UNKNOWN_SENDER = 12
    """No certificate is held for the address that must have signed."""
    REVOKED = 13
    """The signer's certificate has been revoked."""
    EXPIRED = 14
    """A certificate or key is outside its validity period."""
    WRONG_MISSION = 15
    """The object belongs to another mission."""
    NOT_PERMITTED = 16
    """The signer's certificate does not grant the permission this message needs."""
    BAD_SEAL = 17
    """An end-to-end sealed payload does not open for this node."""


class FrameError(ValueError):
    """Input was rejected; ``reason`` says why, ``detail`` says where."""

    def __init__(self, reason: Reject, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.name.lower()}: {detail}" if detail else reason.name.lower())


class RejectCounter(Counter[Reject]):
    """Counts rejections by reason, for management reports and the CLI."""

    def record(self, err: FrameError) -> None:
        self[err.reason] += 1

    def as_dict(self) -> dict[str, int]:
        return {reason.name.lower(): n for reason, n in sorted(self.items())}
