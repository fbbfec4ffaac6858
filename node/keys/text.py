"""The text forms that key files and the command line use for roles, addresses and ids.

Key files hold these forms (not the wire integers) so an operator can read and check a
bundle with a text editor: ``role = "gateway"``, ``address = "0x0102"``.
"""

from __future__ import annotations

from tacmesh.protocol.addresses import (
    TEAM_BASE,
    TEAM_LAST,
    UNICAST_FIRST,
    UNICAST_LAST,
    Role,
    is_unicast,
)

TEAM_FIRST = 1
"""Certificates carry team 0 as "no team" (security.proto), so numbered teams start at 1."""
TEAM_MAX = TEAM_LAST - TEAM_BASE
CALLSIGN_MAX = 32
"""Callsigns ride in every CERTIFICATE frame, which crosses narrowband links: keep them short."""


def role_name(role: Role) -> str:
    return role.name.lower()


def role_names() -> str:
    return ", ".join(role_name(r) for r in Role)


def parse_role(text: str) -> Role:
    """``gateway``, ``team_leader`` or ``team-leader``; ValueError lists the valid names."""
    try:
        return Role[text.strip().upper().replace("-", "_")]
    except KeyError:
        raise ValueError(f"unknown role {text!r}: use one of {role_names()}") from None


def format_node_address(address: int) -> str:
    return f"0x{address:04x}"


def parse_node_address(text: str) -> int:
    """A unicast address written as hex (``0x0102``); ValueError says what is allowed."""
    valid = f"node addresses are 0x{UNICAST_FIRST:04x}..0x{UNICAST_LAST:04x}, written in hex"
    t = text.strip().lower()
    if not t.startswith("0x"):
        raise ValueError(f"address {text!r} is not hex: {valid} (e.g. 0x0102)")
    try:
        address = int(t, 16)
    except ValueError:
        raise ValueError(f"address {text!r} is not hex: {valid} (e.g. 0x0102)") from None
    if not is_unicast(address):
        raise ValueError(f"address {text!r} is not a node address: {valid}")
    return address


def format_mission_id(mission_id: int) -> str:
    return f"0x{mission_id:08x}"


def parse_mission_id(text: str) -> int:
    t = text.strip().lower()
    digits = t[2:]
    if not t.startswith("0x") or len(digits) != 8 or not _is_hex(digits):
        raise ValueError(f"mission id {text!r} is not '0x' and 8 hex digits")
    return int(digits, 16)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text.lower())


def check_team(team: int | None) -> None:
    if team is not None and not TEAM_FIRST <= team <= TEAM_MAX:
        raise ValueError(
            f"team {team} is outside {TEAM_FIRST}..{TEAM_MAX}"
            " (certificates carry 0 as 'no team': number teams from 1)"
        )


def check_callsign(callsign: str) -> None:
    if len(callsign) > CALLSIGN_MAX or not callsign.isprintable():
        raise ValueError(
            f"callsign {callsign!r} must be printable and at most {CALLSIGN_MAX} characters"
        )


def cert_file_name(address: int, serial: int) -> str:
    """``0102-7.cert``: sorted listings group a node's certificates by address."""
    return f"{address:04x}-{serial}.cert"
