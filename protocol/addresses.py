"""Node and group addresses (SPEC.md §3).

An address is 16 bits: narrowband frames carry several of them, so every byte counts, and
65,535 addresses cover the largest operation the design targets (thousands of nodes) with
room for group ranges. Addresses are plain ``int`` on the API; this module says which range
means what and converts to and from the text form engineers type (``0x1203``, ``team:12``,
``role:gateway``, ``all``).
"""

from __future__ import annotations

from enum import IntEnum
from operator import itemgetter
from typing import TYPE_CHECKING

from tacmesh.protocol.errors import FrameError, Reject

ADDRESS_BITS = 16
UNSPECIFIED = 0x0000
UNICAST_FIRST, UNICAST_LAST = 0x0001, 0xDFFF
TEAM_BASE, TEAM_LAST = 0xE000, 0xEFFF
ROLE_BASE, ROLE_LAST = 0xF000, 0xF0FF
ALL_HANDS = 0xFFFF
"""All-hands broadcast; as a next hop it means "every neighbour on this link"."""
UNICAST = range(UNICAST_FIRST, UNICAST_LAST + 1)
"""The unicast addresses, for a quick ``in`` test on the per-frame path."""


class Role(IntEnum):
    """What a node is in the operation; certificates carry it, role groups address it."""

    HANDHELD = 1
    TEAM_LEADER = 2
    TEAM_RELAY = 3
    GATEWAY = 4
    GROUND_BACKBONE = 5
    UAV_RELAY = 6
    COMMAND_POST = 7
    SENSOR = 8
    MEDIC = 9


def is_unicast(addr: int) -> bool:
    return UNICAST_FIRST <= addr <= UNICAST_LAST


def is_group(addr: int) -> bool:
    return TEAM_BASE <= addr <= ROLE_LAST or addr == ALL_HANDS


def team_group(team: int) -> int:
    """The group address of team ``team`` (0..4095)."""
    if not 0 <= team <= TEAM_LAST - TEAM_BASE:
        raise ValueError(f"team number {team} is outside 0..4095")
    return TEAM_BASE + team


def role_group(role: Role) -> int:
    """The group address of every node holding ``role`` in the mission."""
    return ROLE_BASE + int(role)


def check_address(addr: int, *, what: str, allow_group: bool = True) -> None:
    """Raise :class:`FrameError` unless ``addr`` is a valid wire address for ``what``."""
    if not 0 < addr <= ALL_HANDS or not (is_unicast(addr) or (allow_group and is_group(addr))):
        raise FrameError(Reject.BAD_FIELD, f"{what} address 0x{addr:04x} is not allowed here")


def format_address(addr: int) -> str:
    if TEAM_BASE <= addr <= TEAM_LAST:
        return f"team:{addr - TEAM_BASE}"
    if ROLE_BASE <= addr <= ROLE_LAST:
        try:
            return f"role:{Role(addr - ROLE_BASE).name.lower()}"
        except ValueError:
            return f"role:{addr - ROLE_BASE}"
    if addr == ALL_HANDS:
        return "all"
    return f"0x{addr:04x}"


def parse_address(text: str) -> int:
    """Parse the text form; raises ``ValueError`` with the accepted forms on bad input."""
    t = text.strip().lower()
    try:
        if t == "all":
            return ALL_HANDS
        if t.startswith("team:"):
            return team_group(int(t[5:], 0))
        if t.startswith("role:"):
            name = t[5:]
            if not name.isdigit():
                return role_group(Role[name.upper()])
            number = int(name)  # any role group, as format_address writes unnamed ones
            if number > ROLE_LAST - ROLE_BASE:
                raise ValueError(f"role group {number} is outside 0..255")
            return ROLE_BASE + number
        addr = int(t, 0)
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"{text!r} is not an address: use 0x0001..0xdfff, team:N, role:NAME or all"
        ) from exc
    if not (is_unicast(addr) or is_group(addr)):
        raise ValueError(f"{text!r} is outside the address ranges (SPEC.md §3)")
    return addr


def _mask(length: int) -> int:
    return (0xFFFF << (ADDRESS_BITS - length)) & 0xFFFF


_MASKS = tuple(_mask(length) for length in range(ADDRESS_BITS + 1))
"""Prefix length -> mask; a valid Prefix has a length in range."""


class Prefix(tuple[int, int]):
    """A block of unicast addresses a gateway serves, e.g. a team's ``0x1200/8``.

    A tuple underneath, so that hashing and equality run in C: routing looks prefixes up
    in dicts for every entry of every update heard, and a dataclass's generated
    ``__hash__`` was a Python call each time."""

    __slots__ = ()

    def __new__(cls, base: int, length: int) -> Prefix:
        if not 0 <= length <= ADDRESS_BITS:
            raise ValueError(f"prefix length {length} is outside 0..16")
        if base & ~_mask(length) & 0xFFFF:
            raise ValueError(f"0x{base:04x}/{length} has host bits set")
        return tuple.__new__(cls, (base, length))

    def __getnewargs__(self) -> tuple[int, int]:
        return (self[0], self[1])

    if TYPE_CHECKING:

        @property
        def base(self) -> int: ...

        @property
        def length(self) -> int:
            """Number of leading bits that are fixed (0..16)."""

    else:
        base = property(itemgetter(0), doc="The first address of the block.")
        length = property(itemgetter(1), doc="Number of leading bits that are fixed (0..16).")

    @property
    def mask(self) -> int:
        return _MASKS[self[1]]

    def contains(self, addr: int) -> bool:
        # The table, not the property: routing asks this for every prefix it holds.
        return addr & _MASKS[self[1]] == self[0]

    def covers(self, other: Prefix) -> bool:
        """``other`` lies inside this block (or is it)."""
        return other[1] >= self[1] and self.contains(other[0])

    def __repr__(self) -> str:
        return f"Prefix(base={self[0]}, length={self[1]})"

    def __str__(self) -> str:
        return f"0x{self.base:04x}/{self.length}"
