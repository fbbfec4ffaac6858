"""Reading one [[team]] table, and the team address prefix ``"0xBASE/LEN"``.

Rules: a prefix has LEN 1..15, no host bits set, and lies wholly in the unicast range
(below the group addresses at 0xE000); a wrong base comes with the nearest right one.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tacmesh.sim.scenario.fields import TEAM_KEYS, UNICAST_LAST, example
from tacmesh.sim.scenario.model import TeamSpec
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.reader import Table, present
from tacmesh.sim.scenario.words import Raw, show, where_of

_PREFIX = re.compile(r"\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*/\s*([0-9]+)\s*\Z")


def prefix_size(length: int) -> int:
    """How many addresses a prefix of ``length`` fixed bits holds."""
    return 1 << (16 - length)


def format_prefix(prefix: tuple[int, int]) -> str:
    return f"0x{prefix[0]:04x}/{prefix[1]}"


def read_team(raw: Raw, index: int, problems: Problems) -> tuple[str | None, TeamSpec | None]:
    """The team's name (for references, even if the rest is wrong) and its spec."""
    t = Table(raw, ("team", index), where_of("team", index, raw), problems)
    t.check_keys(TEAM_KEYS)
    name = t.name("fire-1")
    prefix = _prefix(t)
    center = t.point("center")
    radius = t.number("radius_m", above=0)
    if name is None or not t.ok:
        return name, None
    given = {"prefix": prefix, "center": center, "radius_m": radius}
    spec = TeamSpec(name=name, line=t.line)
    return name, replace(spec, **present(given))


def _prefix(t: Table) -> tuple[int, int] | None:
    text = t.text("prefix")
    if text is None:
        return None
    found = _PREFIX.match(text)
    if found is None:
        t.problem("prefix", f"prefix {show(text)} is not 0xBASE/LEN", f"write {example('prefix')}")
        return None
    base, length = int(found.group(1), 0), int(found.group(2))
    if not 1 <= length <= 15:
        t.problem("prefix", f"prefix length {length} is outside 1..15", "use e.g. /8 (256 nodes)")
        return None
    if base > 0xFFFF:
        t.problem("prefix", f"prefix base 0x{base:x} is wider than 16 bits", "use 0x0000..0xdfff")
        return None
    mask = (0xFFFF << (16 - length)) & 0xFFFF
    if base & ~mask:
        right = format_prefix((base & mask, length))
        t.problem("prefix", f"prefix {show(text)} has host bits set", f'use "{right}"')
        return None
    last = base + prefix_size(length) - 1
    if last > UNICAST_LAST:
        t.problem(
            "prefix",
            f"prefix {show(text)} reaches 0x{last:04x}, past the unicast range",
            f"use a block below 0x{UNICAST_LAST + 1:04x} (group addresses start there)",
        )
        return None
    return (base, length)
