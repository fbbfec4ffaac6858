"""Big-endian bit packing for the fixed compact layouts (SPEC.md §6.1)."""

from __future__ import annotations

from collections.abc import Sequence


def pack_bits(fields: Sequence[tuple[int, int]]) -> bytes:
    """Pack ``(value, width)`` pairs, most significant first, into whole bytes."""
    acc = 0
    total = 0
    for value, width in fields:
        if not 0 <= value < (1 << width):
            raise ValueError(f"value {value} does not fit {width} bits")
        acc = (acc << width) | value
        total += width
    if total % 8:
        raise ValueError(f"layout of {total} bits is not whole bytes")
    return acc.to_bytes(total // 8, "big")


def unpack_bits(data: bytes, widths: Sequence[int]) -> list[int]:
    """Inverse of :func:`pack_bits`; the caller checks ``len(data)`` first."""
    acc = int.from_bytes(data, "big")
    shift = len(data) * 8
    out = []
    for width in widths:
        shift -= width
        out.append((acc >> shift) & ((1 << width) - 1))
    return out
