"""The frame header (SPEC.md §4): every field in cleartext, all of it authenticated.

Layout (network byte order, bit 7 is the most significant)::

    0      V V T T T T T X     version (2) = 01, type (5), X = extension byte follows
    1      P P P H H H H K     priority (3), hop limit (4), key phase (1)
    2..3   transmitter         address of the node that put this frame on the air
    4..7   counter             transmitter's frame counter: nonce and replay window
    8..9   destination         final destination (unicast or group)
    10..11 next hop            neighbour that should take it; 0xFFFF = every neighbour
    12     [extension flags]   O A L C E 0 0 0   (only if X)
           [origin(2) msg_id(4)]   if O: the message was first sent by another node
           [age varint]            if A: seconds the message has existed so far
           [lifetime varint]       if L: seconds the message may exist in total

Without O, the transmitter is the origin and the counter is the message id. The fragment
frame (type FRAGMENT) has its own layout, in ``fragment.py``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tacmesh.protocol.addresses import ALL_HANDS, UNICAST, check_address
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.varint import decode_varint, encode_varint

VERSION = 1
BASE_HEADER_LEN = 12
MAX_HOP_LIMIT = 15
MAX_COUNTER = 0xFFFF_FFFF

EXT_ORIGIN = 0x80
EXT_AGE = 0x40
EXT_LIFETIME = 0x20
EXT_CUSTODY = 0x10
EXT_E2E = 0x08
EXT_RESERVED = 0x07

_BASE = struct.Struct(">BBHIHH")
_ORIGIN = struct.Struct(">HI")
_TYPES = {int(t): t for t in FrameType}
_PRIORITIES = {int(p): p for p in Priority}
_PROTECTED_TYPES = {
    (VERSION << 6) | (int(t) << 1): t for t in FrameType if t is not FrameType.FRAGMENT
}
"""Byte 0 without its extension bit -> type, for every header decode_header accepts."""


@dataclass(slots=True)
class Header:
    """A decoded frame header. Optional fields are ``None`` when absent from the wire.

    A value: nothing changes a header once made (a relay makes a new one, ``relayed``).
    It is not frozen, and its ``__init__`` is written out, because one is made for every
    frame sent and received: compiled, mypyc calls this one natively, where a frozen
    dataclass's generated one runs interpreted, one ``object.__setattr__`` a field, and
    cost as much as all the rest of decoding."""

    type: FrameType
    priority: Priority
    hop_limit: int
    """Remaining hops; a frame received with 0 is delivered but not forwarded."""
    key_phase: int
    """Low bit of the network key epoch that protects this frame."""
    transmitter: int
    counter: int
    destination: int
    next_hop: int = ALL_HANDS
    origin: int | None = None
    """First sender, when it is not the transmitter."""
    msg_id: int | None = None
    """The origin's id for the message, when it is not this frame's counter."""
    age_s: int | None = None
    lifetime_s: int | None = None
    custody: bool = False
    """Set when the sender asks the next hop to take custody (SPEC.md §9)."""
    e2e: bool = False
    """Set when the payload starts with an end-to-end envelope (SPEC.md §7.6)."""

    def __init__(  # noqa: PLR0917 - the wire's field order, positional for speed
        self,
        type: FrameType,
        priority: Priority,
        hop_limit: int,
        key_phase: int,
        transmitter: int,
        counter: int,
        destination: int,
        next_hop: int = ALL_HANDS,
        origin: int | None = None,
        msg_id: int | None = None,
        age_s: int | None = None,
        lifetime_s: int | None = None,
        custody: bool = False,
        e2e: bool = False,
    ) -> None:
        self.type = type
        self.priority = priority
        self.hop_limit = hop_limit
        self.key_phase = key_phase
        self.transmitter = transmitter
        self.counter = counter
        self.destination = destination
        self.next_hop = next_hop
        self.origin = origin
        self.msg_id = msg_id
        self.age_s = age_s
        self.lifetime_s = lifetime_s
        self.custody = custody
        self.e2e = e2e

    @property
    def source(self) -> int:
        """The node that created the message."""
        return self.transmitter if self.origin is None else self.origin

    @property
    def message_id(self) -> int:
        return self.counter if self.msg_id is None else self.msg_id

    def relayed(
        self,
        transmitter: int,
        counter: int,
        next_hop: int,
        held_s: int = 0,
        hop_limit: int | None = None,
    ) -> Header:
        """This header as a relay sends it on: origin and message id made explicit, and
        the ``held_s`` seconds the relay kept the message added to its age (§4.3.7).
        ``hop_limit``: a custodian's retry sets its own (SPEC.md §9.3.1); otherwise one
        less than received."""
        if hop_limit is None:
            if self.hop_limit == 0:
                raise ValueError(
                    "a frame received with hop limit 0 is not forwarded (SPEC.md §4.3.3)"
                )
            hop_limit = self.hop_limit - 1
        age = (self.age_s or 0) + held_s
        # Built field by field, not with dataclasses.replace: this runs for every frame a
        # relay forwards, and replace costs as much as the rest of it.
        return Header(
            self.type,
            self.priority,
            hop_limit,
            self.key_phase,
            transmitter,
            counter,
            self.destination,
            next_hop,
            self.source,
            self.message_id,
            age or None,
            self.lifetime_s,
            self.custody,
            self.e2e,
        )


def encode_header(h: Header) -> bytes:
    """Serialise ``h``; raises ``ValueError`` if a field is out of range (a caller bug)."""
    if not 0 <= h.hop_limit <= MAX_HOP_LIMIT:
        raise ValueError(f"hop limit {h.hop_limit} is outside 0..15")
    if h.key_phase not in (0, 1):
        raise ValueError(f"key phase {h.key_phase} is not a bit")
    if not 0 <= h.counter <= MAX_COUNTER:
        raise ValueError(f"counter {h.counter} is outside 32 bits")
    _check_addresses(h)
    if (h.origin is None) != (h.msg_id is None):
        raise ValueError("origin and msg_id travel together: set both or neither")
    ext = _ext_flags(h)
    b0 = (VERSION << 6) | (int(h.type) << 1) | (1 if ext else 0)
    b1 = (int(h.priority) << 5) | (h.hop_limit << 1) | (h.key_phase & 1)
    out = _BASE.pack(b0, b1, h.transmitter, h.counter, h.destination, h.next_hop)
    if not ext:
        return out
    parts = [out, bytes([ext])]
    if h.origin is not None and h.msg_id is not None:
        parts.append(_ORIGIN.pack(h.origin, h.msg_id))
    if h.age_s is not None:
        parts.append(encode_varint(h.age_s))
    if h.lifetime_s is not None:
        parts.append(encode_varint(h.lifetime_s))
    return b"".join(parts)


def _check_addresses(h: Header) -> None:
    """Refuse to encode what a receiver would reject (FrameError is a ValueError). As in
    decode_header, the range tests pass the usual addresses; check_address rules on the rest."""
    if h.transmitter not in UNICAST:
        check_address(h.transmitter, what="transmitter", allow_group=False)
    if h.destination not in UNICAST and h.destination != ALL_HANDS:
        check_address(h.destination, what="destination")
    if h.next_hop != ALL_HANDS and h.next_hop not in UNICAST:
        check_address(h.next_hop, what="next hop", allow_group=False)
    if h.origin is not None:
        check_address(h.origin, what="origin", allow_group=False)
    if h.msg_id is not None and not 0 <= h.msg_id <= MAX_COUNTER:
        raise ValueError(f"msg_id {h.msg_id} is outside 32 bits")


def _ext_flags(h: Header) -> int:
    return (
        (EXT_ORIGIN if h.origin is not None else 0)
        | (EXT_AGE if h.age_s is not None else 0)
        | (EXT_LIFETIME if h.lifetime_s is not None else 0)
        | (EXT_CUSTODY if h.custody else 0)
        | (EXT_E2E if h.e2e else 0)
    )


def decode_header(buf: bytes | memoryview) -> tuple[Header, int]:
    """Parse the header at the start of ``buf``; return it and its length in bytes."""
    if len(buf) < BASE_HEADER_LEN:
        raise FrameError(Reject.TRUNCATED, f"{len(buf)} bytes, header needs {BASE_HEADER_LEN}")
    b0, b1, tx, counter, dst, next_hop = _BASE.unpack_from(buf, 0)
    ftype = _PROTECTED_TYPES.get(b0 & 0xFE)
    if ftype is None:
        raise _bad_type(b0)
    priority = _PRIORITIES.get(b1 >> 5)
    if priority is None:
        raise FrameError(Reject.BAD_FIELD, f"priority {b1 >> 5} is reserved")
    # The range tests pass the usual addresses; check_address rules on (and rejects) the rest.
    if tx not in UNICAST:
        check_address(tx, what="transmitter", allow_group=False)
    if dst not in UNICAST and dst != ALL_HANDS:
        check_address(dst, what="destination")
    if next_hop != ALL_HANDS and next_hop not in UNICAST:
        check_address(next_hop, what="next hop", allow_group=False)
    hop_limit, key_phase = (b1 >> 1) & 0x0F, b1 & 1
    if not b0 & 1:
        header = Header(ftype, priority, hop_limit, key_phase, tx, counter, dst, next_hop)
        return header, BASE_HEADER_LEN
    extension: dict[str, object] = {}
    pos = _decode_extension(buf, BASE_HEADER_LEN, extension)
    header = Header(
        type=ftype,
        priority=priority,
        hop_limit=hop_limit,
        key_phase=key_phase,
        transmitter=tx,
        counter=counter,
        destination=dst,
        next_hop=next_hop,
        **extension,  # type: ignore[arg-type]
    )
    return header, pos


def _bad_type(b0: int) -> FrameError:
    """The rejection for a byte 0 that is not in ``_PROTECTED_TYPES``."""
    _frame_type(b0)  # raises for a wrong version or an unknown type
    return FrameError(Reject.BAD_FIELD, "a fragment frame has no protected header")


def _frame_type(b0: int) -> FrameType:
    if b0 >> 6 != VERSION:
        raise FrameError(Reject.BAD_VERSION, f"version {b0 >> 6}, this node speaks {VERSION}")
    ftype = _TYPES.get((b0 >> 1) & 0x1F)
    if ftype is None:
        raise FrameError(Reject.UNKNOWN_TYPE, f"frame type {(b0 >> 1) & 0x1F}")
    return ftype


def peek_type(buf: bytes | memoryview) -> FrameType:
    """The type of the frame in ``buf`` (checks the version), without parsing the rest."""
    if not buf:
        raise FrameError(Reject.TRUNCATED, "empty frame")
    return _frame_type(buf[0])


def _decode_extension(buf: bytes | memoryview, pos: int, fields: dict[str, object]) -> int:
    if pos >= len(buf):
        raise FrameError(Reject.TRUNCATED, "extension byte missing")
    ext = buf[pos]
    pos += 1
    if ext & EXT_RESERVED:
        raise FrameError(Reject.RESERVED_BITS, f"extension flags 0x{ext:02x}")
    if ext == 0:
        raise FrameError(Reject.BAD_FIELD, "extension byte present but empty")
    if ext & EXT_ORIGIN:
        if pos + _ORIGIN.size > len(buf):
            raise FrameError(Reject.TRUNCATED, "origin and message id")
        origin, msg_id = _ORIGIN.unpack_from(buf, pos)
        check_address(origin, what="origin", allow_group=False)
        fields["origin"], fields["msg_id"] = origin, msg_id
        pos += _ORIGIN.size
    if ext & EXT_AGE:
        fields["age_s"], pos = decode_varint(buf, pos, "age")
    if ext & EXT_LIFETIME:
        fields["lifetime_s"], pos = decode_varint(buf, pos, "lifetime")
    fields["custody"] = bool(ext & EXT_CUSTODY)
    fields["e2e"] = bool(ext & EXT_E2E)
    return pos
