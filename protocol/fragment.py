"""Fragment frames (SPEC.md §4.5): a protected frame split to fit a small-MTU link.

Fragmentation happens after protection (encrypt, then fragment) on each hop whose MTU is
smaller than the frame, and reassembly happens on the next hop, before the tag is
verified. A fragment carries no tag of its own: a forged fragment can spoil a reassembly
(and is then counted as a bad tag) but cannot get forged bytes accepted.

Layout::

    0      0 1 T T T T T 0   version 1, type FRAGMENT (15), X = 0
    1      P P P 0 0 0 0 0   priority of the frame inside; other bits zero
    2..3   transmitter
    4      datagram tag      transmitter's id for this split frame (wraps at 256)
    5      index             0..count-1
    6      count             1..255 fragments
    7..    chunk             the index-th piece of the protected frame
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tacmesh.protocol.addresses import check_address
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import VERSION
from tacmesh.protocol.priority import Priority

FRAGMENT_HEADER_LEN = 7
MAX_FRAGMENTS = 255
_LAYOUT = struct.Struct(">BBHBBB")
_B0 = (VERSION << 6) | (int(FrameType.FRAGMENT) << 1)
FRAGMENT_BYTE0 = _B0
"""First byte of every v1 fragment frame: how a receiver tells fragments from frames."""


@dataclass(frozen=True, slots=True)
class Fragment:
    priority: Priority
    transmitter: int
    datagram_tag: int
    index: int
    count: int
    chunk: bytes

    def encode(self) -> bytes:
        b1 = int(self.priority) << 5
        head = _LAYOUT.pack(_B0, b1, self.transmitter, self.datagram_tag, self.index, self.count)
        return head + self.chunk


def decode_fragment(data: bytes) -> Fragment:
    if len(data) <= FRAGMENT_HEADER_LEN:
        raise FrameError(Reject.TRUNCATED, "fragment without a chunk")
    b0, b1, tx, tag, index, count = _LAYOUT.unpack_from(data, 0)
    if b0 >> 6 != VERSION:
        raise FrameError(Reject.BAD_VERSION, f"version {b0 >> 6}")
    if b0 & ~1 != _B0:
        raise FrameError(Reject.BAD_FIELD, "not a fragment frame")
    if b0 & 1:
        raise FrameError(Reject.RESERVED_BITS, "a fragment frame has no extension byte")
    if b1 & 0x1F:
        raise FrameError(Reject.RESERVED_BITS, f"fragment byte 1 is 0x{b1:02x}")
    if b1 >> 5 > max(Priority):
        raise FrameError(Reject.BAD_FIELD, f"priority {b1 >> 5} is reserved")
    check_address(tx, what="transmitter", allow_group=False)
    if count == 0 or index >= count:
        raise FrameError(Reject.BAD_FIELD, f"fragment {index} of {count}")
    return Fragment(Priority(b1 >> 5), tx, tag, index, count, data[FRAGMENT_HEADER_LEN:])


def split(
    frame: bytes, mtu: int, *, priority: Priority, transmitter: int, datagram_tag: int
) -> list[bytes]:
    """Split a protected frame into fragment frames of at most ``mtu`` bytes each."""
    if len(frame) <= mtu:
        return [frame]
    room = mtu - FRAGMENT_HEADER_LEN
    if room < 1:
        raise ValueError(f"an MTU of {mtu} leaves no room for a fragment's data")
    count = -(-len(frame) // room)
    if count > MAX_FRAGMENTS:
        raise ValueError(
            f"{len(frame)} bytes need {count} fragments at MTU {mtu}; max {MAX_FRAGMENTS}"
        )
    return [
        Fragment(
            priority, transmitter, datagram_tag & 0xFF, i, count, frame[i * room : (i + 1) * room]
        ).encode()
        for i in range(count)
    ]


def join(fragments: list[Fragment]) -> bytes:
    """Concatenate a complete, consistent set of fragments (any order)."""
    if not fragments:
        raise FrameError(Reject.TRUNCATED, "no fragments")
    first = fragments[0]
    by_index = {f.index: f for f in fragments}
    if len(by_index) != first.count or any(
        (f.count, f.transmitter, f.datagram_tag)
        != (first.count, first.transmitter, first.datagram_tag)
        for f in fragments
    ):
        raise FrameError(Reject.BAD_FIELD, "fragment set is incomplete or inconsistent")
    return b"".join(by_index[i].chunk for i in range(first.count))
