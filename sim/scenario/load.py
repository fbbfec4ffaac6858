"""Load a scenario file (schema 1, SCHEMA.md) into ``model.Scenario``, or say everything
that is wrong with it.

Rules: every problem is collected and raised at once as :class:`ScenarioError`, one line
each (``<file>:<line>: <where>: <what>; <fix>``), sorted by line; the only early stops are
a TOML syntax error (tomllib stops at the first) and a schema newer than this reader
(its other keys may mean something we do not know). The tables are read one by one
(nodes.py, teams.py, traffic.py, failures.py), then checked against each other (refs.py,
addresses.py, profiles.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from tacmesh.sim.scenario.addresses import check_addresses, check_prefixes
from tacmesh.sim.scenario.directory import Directory, Entry
from tacmesh.sim.scenario.failures import read_failure
from tacmesh.sim.scenario.fields import SITE_KEYS, TOP_KEYS
from tacmesh.sim.scenario.locate import LineMap
from tacmesh.sim.scenario.model import (
    SCHEMA_VERSION,
    FailureSpec,
    NodeSpec,
    Scenario,
    Site,
    TeamSpec,
    TrafficSpec,
)
from tacmesh.sim.scenario.nodes import read_node
from tacmesh.sim.scenario.problems import Problems, ScenarioError, syntax_error
from tacmesh.sim.scenario.profiles import check_profiles, profile_uses, read_radios
from tacmesh.sim.scenario.reader import Table, present
from tacmesh.sim.scenario.refs import check_failures, check_names, check_nodes, check_traffic
from tacmesh.sim.scenario.teams import read_team
from tacmesh.sim.scenario.traffic import read_traffic
from tacmesh.sim.scenario.words import Raw

__all__ = ["ScenarioError", "load_scenario", "parse_scenario"]

T = TypeVar("T")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; messages name it as ``path`` was given."""
    source = str(path)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            source, [(line, "file: this line is not UTF-8 text; save the file as UTF-8")]
        ) from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source: str = "<memory>") -> Scenario:
    """Check a scenario given as TOML text; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise syntax_error(source, text, exc) from None
    problems = Problems(source, LineMap(text))
    _check_schema(data, problems)
    scenario = _build(data, problems)
    problems.raise_if_any()
    assert scenario is not None  # every None path reported a problem
    return replace(scenario, source=source)


def _check_schema(data: Raw, problems: Problems) -> None:
    top = Table(data, (), "scenario", problems)
    version = top.integer("schema", required=True)
    if version is None:
        return
    if version > SCHEMA_VERSION:
        line = problems.lines.line(("schema",))
        raise ScenarioError(
            problems.source,
            [
                (
                    line,
                    f"scenario: schema {version} is newer than this tacmesh reads "
                    f"({SCHEMA_VERSION}); upgrade tacmesh, or write the file for schema "
                    f"{SCHEMA_VERSION} (SCHEMA.md)",
                )
            ],
        )
    if version < SCHEMA_VERSION:
        top.problem("schema", f"schema {version} does not exist", "write schema = 1")


def _build(data: Raw, problems: Problems) -> Scenario | None:
    top = Table(data, (), "scenario", problems)
    top.check_keys(TOP_KEYS)
    name = top.text("name", required=True)
    seed = top.integer("seed")
    duration = top.number("duration_s", required=True, above=0)
    topology = top.number("topology_interval_s", above=0, high=duration, bound="duration_s")
    metrics_bin = top.number("metrics_bin_s", above=0, high=duration, bound="duration_s")
    site = _site(top)
    radios = read_radios(data.get("radio"), problems)
    raw_teams = _tables(top, "team")
    raw_nodes = _tables(top, "node", required=True)
    raw_flows = _tables(top, "traffic")
    raw_failures = _tables(top, "failure")

    team_names: list[tuple[str, int]] = []
    teams: list[tuple[int, TeamSpec]] = []
    for index, raw in raw_teams:
        team_name, team = read_team(raw, index, problems)
        if team_name is not None:
            team_names.append((team_name, index))
        if team is not None:
            teams.append((index, team))
    entries: list[Entry] = []
    nodes: list[tuple[int, NodeSpec]] = []
    for index, raw in raw_nodes:
        entry, node = read_node(raw, index, site, problems)
        entries += [] if entry is None else [entry]
        nodes += [] if node is None else [(index, node)]
    flows: list[tuple[int, TrafficSpec]] = _each(
        raw_flows, lambda i, raw: read_traffic(raw, i, duration, problems)
    )
    failures: list[tuple[int, FailureSpec]] = _each(
        raw_failures, lambda i, raw: read_failure(raw, i, duration, problems)
    )

    lines = {team_name: problems.lines.line(("team", i)) for team_name, i in team_names}
    directory = Directory(entries, lines)
    check_names(entries, team_names, problems)
    check_nodes(entries, raw_nodes, directory, problems)
    check_traffic(raw_flows, directory, problems)
    check_failures(raw_failures, directory, problems)
    check_prefixes(teams, entries, problems)
    check_addresses(nodes, teams, problems)
    check_profiles(radios, profile_uses(raw_nodes, raw_failures), problems)

    if problems or name is None or duration is None or site is None:
        return None
    scenario = Scenario(
        name=name,
        seed=0 if seed is None else seed,
        duration_s=duration,
        site=site,
        nodes=tuple(node for _, node in nodes),
        teams=tuple(team for _, team in teams),
        traffic=tuple(flow for _, flow in flows),
        failures=tuple(failure for _, failure in failures),
        radios=radios,
    )
    given = {"topology_interval_s": topology, "metrics_bin_s": metrics_bin}
    return replace(scenario, **present(given))


def _site(top: Table) -> Site | None:
    site = top.table("site", "site")
    if site is None:
        if not top.has("site"):
            top.problem(None, "missing [site] table", "add [site] with lat = 31.05, lon = 103.42")
        return None
    site.check_keys(SITE_KEYS)
    lat = site.number("lat", required=True, low=-90, high=90)
    lon = site.number("lon", required=True, low=-180, high=180)
    return None if lat is None or lon is None else Site(lat=lat, lon=lon)


def _tables(top: Table, key: str, *, required: bool = False) -> list[tuple[int, Raw]]:
    """The [[key]] tables with their indices; a problem if not an array of tables."""
    value = top.raw.get(key)
    if value is None:
        if required:
            top.problem(None, f"no [[{key}]] tables", f"add at least one [[{key}]]")
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        top.mistyped(key, value, f"an array of [[{key}]] tables", f"write each as [[{key}]]")
        return []
    if required and not value:
        top.problem(key, f"no [[{key}]] tables", f"add at least one [[{key}]]")
    return list(enumerate(value))


def _each(
    tables: list[tuple[int, Raw]], read: Callable[[int, Raw], T | None]
) -> list[tuple[int, T]]:
    found = [(index, read(index, raw)) for index, raw in tables]
    return [(index, item) for index, item in found if item is not None]
