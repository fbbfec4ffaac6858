"""Checks across tables: duplicate names (after ``count`` expansion), every name a node,
traffic flow or failure refers to, and the one command post that ``to = "command"`` needs.

Rules: a clash is reported on the later table, naming the earlier one's line; references
are read from the raw tables and resolved against the :class:`Directory`, so they are
checked even where the rest of a table is wrong (its readers report what that is);
suggestions come from the names actually defined.
"""

from __future__ import annotations

from tacmesh.sim.scenario.directory import Directory, Entry
from tacmesh.sim.scenario.fields import FAILURE_TARGET_ROLE
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.words import Raw, suggest, where_of

Teams = list[tuple[str, int]]
"""(name, index) of each [[team]] that has a valid name, in file order."""


def check_names(entries: list[Entry], teams: Teams, problems: Problems) -> None:
    owner: dict[str, Entry] = {}
    for entry in entries:
        clashes = {owner[m] for m in entry.members if m in owner}
        for first in sorted(clashes, key=lambda e: e.index):
            shared = next(m for m in entry.members if owner.get(m) is first)
            problems.add(
                ("node", entry.index, "name"),
                f'node "{entry.name}"',
                f'node name "{shared}" is taken by node "{first.name}" (line {first.line})',
                "rename one of them",
            )
        for member in entry.members:
            owner.setdefault(member, entry)
    seen: dict[str, int] = {}
    for name, index in teams:
        path = ("team", index, "name")
        if name in seen:
            line = problems.lines.line(("team", seen[name]))
            problems.add(path, f'team "{name}"', f"duplicate team (line {line})", "rename one")
        elif name in owner:
            problems.add(
                path,
                f'team "{name}"',
                f'a node is also named "{name}" (line {owner[name].line})',
                "give teams and nodes different names (failure targets name either)",
            )
        seen.setdefault(name, index)


def check_nodes(
    entries: list[Entry], raw_nodes: list[tuple[int, Raw]], d: Directory, p: Problems
) -> None:
    for entry in entries:
        if entry.team is not None and entry.team not in d.teams:
            p.add(
                ("node", entry.index, "team"),
                f'node "{entry.name}"',
                f'no team is named "{entry.team}"',
                suggest(entry.team, d.teams, "define a [[team]] or name one of"),
            )
    for index, raw in raw_nodes:
        mobility = raw.get("mobility")
        leader = _text(mobility, "leader") if isinstance(mobility, dict) else None
        problem = None if leader is None else d.node_problem(leader)
        if problem is not None:
            path = ("node", index, "mobility", "leader")
            p.add(path, where_of("node", index, raw), f"leader: {problem[0]}", problem[1])


def _text(raw: Raw, key: str) -> str | None:
    """A non-empty string value (a mistyped one was reported by its reader)."""
    value = raw.get(key)
    return value if isinstance(value, str) and value.strip() else None


def check_traffic(flows: list[tuple[int, Raw]], d: Directory, p: Problems) -> None:
    for index, raw in flows:
        where = where_of("traffic", index, raw)
        sources, to = _text(raw, "from"), _text(raw, "to") or "command"
        problem = None if sources is None else d.selector_problem(sources, extra=("all",))
        if sources == "command":
            problem = ('"command" is a keyword of "to"', 'name the command post, e.g. from = "cp"')
        if problem is not None:
            p.add(("traffic", index, "from"), where, f"from: {problem[0]}", problem[1])
        problem = d.selector_problem(to, extra=("command", "team", "all"))
        if problem is not None:
            p.add(("traffic", index, "to"), where, f"to: {problem[0]}", problem[1])
        source = None if sources is None else d.nodes.get(sources)
        if to == "team" and source is not None and source.team is None:
            p.add(
                ("traffic", index, "to"),
                where,
                f'to = "team" but node "{sources}" is in no team',
                'set the node\'s team, or write to = "team:<name>"',
            )
    _check_command_post(flows, d, p)


def _check_command_post(flows: list[tuple[int, Raw]], d: Directory, p: Problems) -> None:
    to_command = [(i, raw) for i, raw in flows if (_text(raw, "to") or "command") == "command"]
    if not to_command:
        return
    posts = [entry for entry in d.entries if entry.role == "command_post"]
    index, raw = to_command[0]
    if not posts:
        p.add(
            ("traffic", index, "to"),
            where_of("traffic", index, raw),
            'traffic goes to "command" but no node has role command_post',
            'add a [[node]] with role = "command_post"',
        )
        return
    first = posts[0]
    for extra in posts:
        if extra is first and extra.count == 1:
            continue
        p.add(
            ("node", extra.index, "count" if extra is first else "role"),
            f'node "{extra.name}"',
            f'more than one command post (the first is "{first.name}", line {first.line}) '
            f'while traffic #{index + 1} goes to "command"',
            "keep one command_post, or address traffic to a node by name",
        )


def check_failures(failures: list[tuple[int, Raw]], d: Directory, p: Problems) -> None:
    for index, raw in failures:
        where = where_of("failure", index, raw)
        target = _text(raw, "target")
        problem = None if target is None else _target_problem(_text(raw, "kind"), target, d)
        if problem is not None:
            p.add(("failure", index, "target"), where, f"target: {problem[0]}", problem[1])
        between = raw.get("between")
        for name in between if isinstance(between, list) else []:
            problem = d.node_problem(name) if isinstance(name, str) else None
            if problem is not None:
                p.add(("failure", index, "between"), where, f"between: {problem[0]}", problem[1])


def _target_problem(kind: str | None, target: str, d: Directory) -> tuple[str, str] | None:
    if kind == "partition":
        if target in d.teams:
            return None
        if target.startswith("team:") and target[5:] in d.teams:
            return (f'a partition names the team plainly, not "{target}"', f'write "{target[5:]}"')
        return (f'no team is named "{target}"', suggest(target, d.teams, "name one of"))
    problem = d.selector_problem(target)
    if problem is not None:
        return problem
    role = FAILURE_TARGET_ROLE.get(kind or "")
    if role is None or target.startswith("team:"):
        return None
    has = target[5:] if target.startswith("role:") else d.nodes[target].role
    if has is not None and has != role:
        return (f"{kind} needs a {role}, not a {has}", f'name a node with role = "{role}"')
    return None
