"""Unsigned LEB128 integers, minimal encoding only (SPEC.md §4.4)."""

from __future__ import annotations

from tacmesh.protocol.errors import FrameError, Reject

MAX_VARINT = 0xFFFF_FFFF


def encode_varint(value: int) -> bytes:
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"varint {value} is outside 0..2^32-1")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int, what: str) -> tuple[int, int]:
    """Return ``(value, next_pos)``; reject truncated, over-long and non-minimal forms."""
    value = 0
    for i in range(5):
        if pos + i >= len(buf):
            raise FrameError(Reject.TRUNCATED, f"{what} varint runs past the end")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise FrameError(Reject.BAD_FIELD, f"{what} varint is not minimally encoded")
            if value > MAX_VARINT:
                raise FrameError(Reject.BAD_FIELD, f"{what} varint exceeds 32 bits")
            return value, pos + i + 1
    raise FrameError(Reject.BAD_FIELD, f"{what} varint is longer than 5 bytes")
