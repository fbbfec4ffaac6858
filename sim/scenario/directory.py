"""The names a scenario defines (nodes after ``count`` expansion, teams, roles present) and
the resolution of the names that traffic and failures refer to.

Rules: built from what each table names even when the rest of that table is wrong, so one
bad node does not also make every reference to it an error; a ``count`` table's own name
is not a node (its members ``<name>-01`` ... are), and the messages say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from tacmesh.sim.scenario.fields import ROLES
from tacmesh.sim.scenario.words import one_of, suggest


def member_names(name: str, count: int) -> tuple[str, ...]:
    """The names of a node table's nodes: itself, or ``<name>-01`` ... for ``count`` > 1
    (wider numbers from 100 on, so names sort in order)."""
    if count == 1:
        return (name,)
    width = max(2, len(str(count)))
    return tuple(f"{name}-{i:0{width}d}" for i in range(1, count + 1))


@dataclass(frozen=True, slots=True)
class Entry:
    """What a [[node]] table names: enough to resolve references and spot clashes."""

    name: str
    index: int
    line: int
    count: int = 1
    role: str | None = None
    team: str | None = None

    @property
    def members(self) -> tuple[str, ...]:
        return member_names(self.name, self.count)


class Directory:
    def __init__(self, entries: list[Entry], teams: dict[str, int]) -> None:
        self.entries = entries
        self.teams = teams
        """Team name -> line of its [[team]]."""
        self.nodes: dict[str, Entry] = {}
        """Every single node name -> the table that defines it (the first, on clashes)."""
        self.groups: dict[str, Entry] = {}
        """Names of ``count`` > 1 tables, which are not nodes themselves."""
        for entry in entries:
            for member in entry.members:
                self.nodes.setdefault(member, entry)
            if entry.count > 1:
                self.groups.setdefault(entry.name, entry)
        self.roles = {entry.role for entry in entries if entry.role is not None}

    def node_problem(self, name: str) -> tuple[str, str] | None:
        """None when ``name`` is one node; else (what is wrong, fix)."""
        if name in self.nodes:
            return None
        group = self.groups.get(name)
        if group is not None:
            return (
                f'"{name}" names {group.count} nodes (count = {group.count})',
                f'name one of them, e.g. "{group.members[0]}"',
            )
        return (f'no node is named "{name}"', suggest(name, self.nodes, "name one of"))

    def selector_problem(self, text: str, *, extra: tuple[str, ...] = ()) -> tuple[str, str] | None:
        """None when ``text`` is ``team:<name>``, ``role:<role>``, a keyword in ``extra``
        or one node; else (what is wrong, fix)."""
        if text in extra:
            return None
        if text.startswith("team:"):
            team = text[5:]
            if team in self.teams:
                return None
            return (f'no team is named "{team}"', suggest(team, self.teams, "name one of"))
        if text.startswith("role:"):
            return self.role_problem(text[5:])
        problem = self.node_problem(text)
        if problem is not None and problem[0].startswith("no node") and extra:
            forms = ", ".join(extra)
            return (problem[0], f"{problem[1]} (or team:<name>, role:<role>, {forms})")
        return problem

    def role_problem(self, role: str) -> tuple[str, str] | None:
        if role not in ROLES:
            return (f'unknown role "{role}"', one_of(role, ROLES))
        if role not in self.roles:
            return (f'no node has role "{role}"', f'add a [[node]] with role = "{role}"')
        return None
