"""The heard list of a full hello (SPEC.md §8.1.1): three bytes a neighbour, its address
(big-endian) then the reception quality (0–255) the sender measures for it.

Packed bytes, not a repeated protobuf message: a LoRa hello lists a whole team, and at
about eight bytes an entry the list was most of every narrowband hello, and the hellos
nearly half of a team channel's airtime.
"""

from __future__ import annotations

from collections.abc import Iterable

from tacmesh.protocol.errors import FrameError, Reject

ENTRY_LEN = 3


def pack(entries: Iterable[tuple[int, int]]) -> bytes:
    """``(address, rx_quality)`` pairs as a hello's ``heard`` field carries them."""
    out = bytearray()
    for address, quality in entries:
        out += bytes((address >> 8, address & 0xFF, quality))
    return bytes(out)


def check(heard: bytes) -> None:
    """A list that is not whole entries is a malformed hello (SPEC.md §8.1.1)."""
    if len(heard) % ENTRY_LEN:
        raise FrameError(
            Reject.MALFORMED_BODY,
            f"hello heard list of {len(heard)} bytes is not whole {ENTRY_LEN}-byte entries",
        )


def unpack(heard: bytes) -> list[tuple[int, int]]:
    """The ``(address, rx_quality)`` pairs of a checked list."""
    check(heard)
    return [(heard[i] << 8 | heard[i + 1], heard[i + 2]) for i in range(0, len(heard), ENTRY_LEN)]


def qualities(heard: bytes) -> dict[int, int]:
    """A checked list as ``{address: rx_quality}``, for many lookups in one list."""
    return {heard[i] << 8 | heard[i + 1]: heard[i + 2] for i in range(0, len(heard), ENTRY_LEN)}


def quality_for(heard: bytes, address: int) -> int:
    """The quality a checked list gives ``address``; 0 if it is not listed (the link is
    one-way). Found by ``bytes.find``, not by walking the entries: a relay reads one
    list per hello of every neighbour."""
    key = bytes((address >> 8, address & 0xFF))
    at = heard.find(key)
    while at != -1:
        if at % ENTRY_LEN == 0:
            return heard[at + 2]
        at = heard.find(key, at + 1)
    return 0
