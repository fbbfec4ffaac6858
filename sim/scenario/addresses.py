"""Address checks across tables: explicit node addresses are unique, lie in their team's
prefix and in no other team's; team prefixes do not overlap and hold the team's nodes.

Rules: only what the file fixes is checked (assigned addresses are the world's job, and it
assigns team members inside their team's prefix); a clash is reported on the later table;
fixes name a free block or range, so they can be applied as written.
"""

from __future__ import annotations

from tacmesh.sim.scenario.directory import Entry
from tacmesh.sim.scenario.fields import UNICAST_LAST
from tacmesh.sim.scenario.model import NodeSpec, TeamSpec
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.teams import format_prefix, prefix_size

TEAM_AREA = 0x1000
"""Where team blocks start by convention (the world assigns unprefixed teams from here)."""
Block = tuple[int, int]
"""(first, last) address of a team prefix."""


def _block(prefix: tuple[int, int]) -> Block:
    return (prefix[0], prefix[0] + prefix_size(prefix[1]) - 1)


def check_prefixes(teams: list[tuple[int, TeamSpec]], entries: list[Entry], p: Problems) -> None:
    placed: list[tuple[TeamSpec, Block]] = []
    blocks = {index: _block(team.prefix) for index, team in teams if team.prefix is not None}
    for index, team in teams:
        if team.prefix is None:
            continue
        block = _block(team.prefix)
        for other, taken in placed:
            if block[0] <= taken[1] and taken[0] <= block[1]:
                assert other.prefix is not None
                others = [b for i, b in blocks.items() if i != index]
                free = free_block(team.prefix[1], others)
                p.add(
                    ("team", index, "prefix"),
                    f'team "{team.name}"',
                    f'prefix {format_prefix(team.prefix)} overlaps team "{other.name}"\'s '
                    f"{format_prefix(other.prefix)} (line {other.line})",
                    "give each team its own block"
                    + ("" if free is None else f', e.g. "{format_prefix(free)}"'),
                )
                break
        placed.append((team, block))
        _check_capacity(index, team, entries, p)


def _check_capacity(index: int, team: TeamSpec, entries: list[Entry], p: Problems) -> None:
    assert team.prefix is not None
    members = sum(entry.count for entry in entries if entry.team == team.name)
    base, length = team.prefix
    usable = prefix_size(length) - (1 if base == 0 else 0)  # 0x0000 is no node's address
    if members <= usable:
        return
    need = length
    while need > 1 and prefix_size(need) - (1 if base == 0 else 0) < members:
        need -= 1
    mask = (0xFFFF << (16 - need)) & 0xFFFF
    p.add(
        ("team", index, "prefix"),
        f'team "{team.name}"',
        f"prefix {format_prefix(team.prefix)} holds {usable} addresses "
        f"but the team has {members} nodes",
        f'use a shorter prefix, e.g. "{format_prefix((base & mask, need))}"',
    )


def free_block(length: int, taken: list[Block]) -> tuple[int, int] | None:
    """The lowest block of ``length`` that overlaps none of ``taken`` (None if full)."""
    size = prefix_size(length)
    first = -(-TEAM_AREA // size) * size
    # Teams conventionally sit from 0x1000 up (below are command, backbone and UAVs);
    # 0x0000, no node's address, comes last.
    for base in [*range(first, UNICAST_LAST + 1, size), *range(size, first, size), 0]:
        last = base + size - 1
        if last <= UNICAST_LAST and all(last < lo or hi < base for lo, hi in taken):
            return (base, length)
    return None


def check_addresses(
    nodes: list[tuple[int, NodeSpec]], teams: list[tuple[int, TeamSpec]], p: Problems
) -> None:
    prefixes = {team.name: team.prefix for _, team in teams if team.prefix is not None}
    owner: dict[int, NodeSpec] = {}
    for index, node in nodes:
        address = node.address
        if address is None:
            continue
        where = f'node "{node.name}"'
        path = ("node", index, "address")
        first = owner.setdefault(address, node)
        if first is not node:
            p.add(
                path,
                where,
                f'address 0x{address:04x} is also node "{first.name}"\'s (line {first.line})',
                "give each node its own address, or leave address out to have one assigned",
            )
        problem = _prefix_problem(address, node.team, prefixes)
        if problem is not None:
            p.add(path, where, *problem)


def _prefix_problem(
    address: int, team: str | None, prefixes: dict[str, tuple[int, int]]
) -> tuple[str, str] | None:
    """An address belongs in its team's prefix, and in no other team's."""
    own = prefixes.get(team) if team is not None else None
    if own is not None:
        first, last = _block(own)
        if first <= address <= last:
            return None
        return (
            f'address 0x{address:04x} is outside team "{team}"\'s prefix {format_prefix(own)}',
            f"use an address in 0x{first:04x}..0x{last:04x}, or leave address out",
        )
    for other, prefix in prefixes.items():
        first, last = _block(prefix)
        if first <= address <= last:
            return (
                f'address 0x{address:04x} lies in team "{other}"\'s prefix {format_prefix(prefix)}',
                f'use an address outside the team blocks, or set team = "{other}"',
            )
    return None
