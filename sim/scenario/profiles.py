"""Radio profile names: the [[radio]] tables, and the names nodes and jamming use.

Rules: ``sim/radio`` owns the profiles, so names are checked against it only when it is
importable and offers ``load_profiles(extra)`` (it is written alongside this loader);
without it any non-empty name passes. What it rejects in the [[radio]] tables is reported
here, on the [[radio]] line, in our message form.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tacmesh.sim.scenario.locate import Path
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.reader import Table
from tacmesh.sim.scenario.words import Raw, suggest, where_of


def read_radios(raw: object, problems: Problems) -> tuple[dict[str, object], ...]:
    """The [[radio]] tables as dicts, each with a non-empty, unique ``name``."""
    if raw is None:
        return ()
    top = Table({"radio": raw}, (), "scenario", problems)
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        top.mistyped("radio", raw, "an array of [[radio]] tables", "write [[radio]] tables")
        return ()
    seen: dict[str, int] = {}
    radios: list[dict[str, object]] = []
    for index, item in enumerate(raw):
        t = Table(item, ("radio", index), where_of("radio", index, item), problems)
        name = t.text("name", required=True, sample='"lora-sf9"')
        if name is not None and name in seen:
            first = problems.lines.line(("radio", seen[name]))
            t.problem("name", f"duplicate radio profile (line {first})", "rename one of them")
        if name is not None:
            seen.setdefault(name, index)
        radios.append(dict(item))
    return tuple(radios)


Loader = Callable[[list[dict[str, object]]], object]
"""``sim.radio.load_profiles``: extra tables -> profiles by name; ValueError if one is wrong."""


@dataclass(frozen=True, slots=True)
class ProfileUse:
    """One place a profile name is used: where the message points."""

    name: str
    path: Path
    where: str


def check_profiles(
    radios: tuple[dict[str, object], ...], uses: list[ProfileUse], problems: Problems
) -> None:
    load = _loader()
    if load is None:
        return
    profiles = _load_each(load, radios, problems)
    if profiles is None:
        return
    known = sorted(profiles)
    defined = {table.get("name") for table in radios}  # a rejected table was reported
    for use in uses:
        if use.name not in profiles and use.name not in defined:
            problems.add(
                use.path,
                use.where,
                f'unknown radio profile "{use.name}"',
                suggest(use.name, known, "define a [[radio]] or use one of"),
            )


_RADIO_MESSAGE = re.compile(r'radio "([^"]*)": (.*)', re.S)
_FIELD = re.compile(r'(field|base) "([^"]+)"')


def _load_each(
    load: Loader, radios: tuple[dict[str, object], ...], problems: Problems
) -> set[str] | None:
    """The profile names, adding the [[radio]] tables one at a time so that each bad one is
    reported (sim/radio stops at the first) and the good ones still count."""
    good: list[dict[str, object]] = []
    names: set[str] | None = None
    for index, table in enumerate(radios):
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            continue  # reported by read_radios
        if any(name == other.get("name") for other in good):
            continue  # the duplicate was reported by read_radios
        try:
            names = _names(load([*good, table]))
        except ValueError as exc:  # sim/radio's own check of the table
            _report(index, table, str(exc), problems)
            continue
        good.append(table)
    if names is None:
        try:
            names = _names(load(good))
        except ValueError:  # no table at all was accepted and the built-ins fail: not ours
            return None
    return names


def _names(profiles: object) -> set[str]:
    return {str(name) for name in profiles} if isinstance(profiles, Mapping) else set()


def _report(index: int, table: Raw, message: str, problems: Problems) -> None:
    found = _RADIO_MESSAGE.match(message)
    text = found.group(2) if found else message
    field = _FIELD.search(text)
    key = None if field is None else "base" if field.group(1) == "base" else field.group(2)
    path: Path = ("radio", index) if key is None else ("radio", index, key)
    if "; " not in text:
        text += "; see the fields in sim/radio/profiles.toml"
    what, fix = text.split("; ", 1)
    problems.add(path, where_of("radio", index, table), what, fix)


def _loader() -> Loader | None:
    try:
        module = importlib.import_module("tacmesh.sim.radio")
    except ImportError:
        return None
    load = getattr(module, "load_profiles", None)
    return load if callable(load) else None


def profile_uses(
    raw_nodes: list[tuple[int, Raw]], raw_failures: list[tuple[int, Raw]]
) -> list[ProfileUse]:
    """Every profile name the nodes' radios and the jamming failures name."""
    uses: list[ProfileUse] = []
    for index, node in raw_nodes:
        where = where_of("node", index, node)
        radios = node.get("radios")
        items: list[object] = [radios] if isinstance(radios, str) else []
        items = list(radios) if isinstance(radios, list) else items
        for i, radio in enumerate(items):
            if isinstance(radio, str) and radio.strip():
                uses.append(ProfileUse(radio, ("node", index, "radios", i), where))
            elif (
                isinstance(radio, dict)
                and isinstance(radio.get("profile"), str)
                and radio["profile"].strip()
            ):
                path = ("node", index, "radios", i, "profile")
                uses.append(ProfileUse(str(radio["profile"]), path, where))
    for index, failure in raw_failures:
        profile = failure.get("profile")
        if isinstance(profile, str) and profile.strip():
            where = where_of("failure", index, failure)
            uses.append(ProfileUse(profile, ("failure", index, "profile"), where))
    return uses
