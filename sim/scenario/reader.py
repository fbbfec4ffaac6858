"""Typed reading of one TOML table: each getter returns the value, or None after reporting
what is wrong (on the value's line, with the fix) when it is missing, mistyped or out of
range.

Rules: a getter never raises; it reports and returns None, and marks the table (and its
parents) not ``ok`` so the caller builds no half-valid dataclass; booleans are never
numbers (TOML ``true`` is a Python int); numbers must be finite.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

from tacmesh.sim.scenario.fields import NAME_PATTERN, RESERVED_NAMES, example
from tacmesh.sim.scenario.locate import Path
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.words import Raw, one_of, show, suggest, type_name


def present(values: Mapping[str, object]) -> dict[str, Any]:
    """The values that were given (not None), as keywords for ``dataclasses.replace``: the
    model stays the one source of defaults. Typed Any because each value was checked by
    its getter, which mypy cannot follow through a dict."""
    return {key: value for key, value in values.items() if value is not None}


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Table:
    """One table of the file (``path``), named ``where`` in messages."""

    def __init__(
        self,
        raw: Raw,
        path: Path,
        where: str,
        problems: Problems,
        parent: Table | None = None,
    ) -> None:
        self.raw = raw
        self.path = path
        self.where = where
        self.problems = problems
        self.parent = parent
        self.ok = True

    @property
    def line(self) -> int:
        return self.problems.lines.line(self.path)

    def child(self, sub: str | Path, raw: Raw, where: str | None = None) -> Table:
        """The sub-table at ``sub`` (a problem there also spoils this table)."""
        rest: Path = (sub,) if isinstance(sub, str) else sub
        return Table(raw, (*self.path, *rest), where or self.where, self.problems, self)

    def problem(self, key: str | Path | None, what: str, fix: str) -> None:
        sub: Path = () if key is None else (key,) if isinstance(key, str) else key
        self.problems.add((*self.path, *sub), self.where, what, fix)
        table: Table | None = self
        while table is not None:
            table.ok = False
            table = table.parent

    def has(self, key: str) -> bool:
        return key in self.raw

    def check_keys(self, allowed: Collection[str]) -> None:
        for key in self.raw:
            if key not in allowed:
                self.problem(key, f'unknown key "{key}"', suggest(key, allowed, "use one of"))

    def missing(self, key: str, sample: str | None = None) -> None:
        self.problem(None, f'missing key "{key}"', f"add {example(key, sample)}")

    def mistyped(self, key: str | Path, value: object, wanted: str, hint: str) -> None:
        name = key if isinstance(key, str) else str(key[-1])
        self.problem(key, f"{name} must be {wanted}, not {type_name(value)} ({show(value)})", hint)

    # -- scalars ---------------------------------------------------------------------

    def text(self, key: str, *, required: bool = False, sample: str | None = None) -> str | None:
        """A non-empty string; ``sample`` is the example value for the fix."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.missing(key, sample)
            return None
        if isinstance(value, str) and not value.strip():
            self.problem(key, f"{key} is empty", f"write {example(key, sample)}")
            return None
        if not isinstance(value, str):
            self.mistyped(key, value, "a string", f"write {example(key, sample)}")
            return None
        return value

    def choice(self, key: str, choices: Collection[str], *, required: bool = False) -> str | None:
        value = self.text(key, required=required)
        if value is not None and value not in choices:
            self.problem(key, f"unknown {key} {show(value)}", one_of(value, choices))
            return None
        return value

    def name(self, sample: str) -> str | None:
        """A node or team name: letters, digits, ``_ . -``; not a traffic keyword."""
        key = "name"
        value = self.text(key, required=True, sample=f'"{sample}"')
        if value is None:
            return None
        if not NAME_PATTERN.match(value):
            self.problem(
                key,
                f"name {show(value)} has characters other than letters, digits, _ . -",
                "rename it, e.g. fire-1 or relay_2",
            )
            return None
        if value in RESERVED_NAMES:
            self.problem(
                key,
                f"name {show(value)} is a keyword of traffic targets",
                "choose another name, e.g. " + show(value + "-1"),
            )
            return None
        return value

    def flag(self, key: str) -> bool | None:
        value = self.raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.mistyped(key, value, "true or false", f"write {key} = true or {key} = false")
        return None

    def number(
        self,
        key: str,
        *,
        required: bool = False,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
        bound: str = "",
    ) -> float | None:
        """A finite number with ``low <= x <= high`` and ``x > above`` (each if given);
        ``bound`` names ``high`` in the fix (e.g. "duration_s")."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.missing(key)
            return None
        if not is_number(value) or not math.isfinite(value):
            self.mistyped(key, value, "a finite number", f"write it unquoted: {example(key)}")
            return None
        number = float(value)
        if not _in_range(number, low, high, above):
            self.problem(
                key,
                f"{key} = {show(value)} is out of range",
                f"use a number {_range_text(low, high, above, bound)}",
            )
            return None
        return number

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        low: int | None = None,
        high: tuple[int, str] | None = None,
    ) -> int | None:
        """``high``: the largest value allowed, and why (the error says both)."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.missing(key)
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.mistyped(key, value, "an integer", f"write a whole number: {example(key)}")
            return None
        if low is not None and value < low:
            self.problem(key, f"{key} = {value} is out of range", f"use {low} or more")
            return None
        if high is not None and value > high[0]:
            limit, why = high
            self.problem(key, f"{key} = {value} is out of range ({why})", f"use {limit:,} or less")
            return None
        return value

    # -- arrays and tables ----------------------------------------------------------

    def point(self, key: str) -> tuple[float, float] | None:
        """``[x, y]`` in metres."""
        value = self.raw.get(key)
        return None if value is None else self.point_at((key,), value)

    def point_at(self, path: Path, value: object) -> tuple[float, float] | None:
        if isinstance(value, list) and len(value) == 2:
            x, y = value
            if _finite(x) and _finite(y):
                return (float(x), float(y))
        self.mistyped(path, value, "[x, y] (two numbers)", "write it like [1200, -400]")
        return None

    def points(self, key: str) -> tuple[tuple[float, float], ...] | None:
        """``[[x, y], ...]``; empty is allowed (the caller says when it is not enough)."""
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.mistyped(key, value, "an array of [x, y]", f"write {example(key)}")
            return None
        found = [self.point_at((key, i), item) for i, item in enumerate(value)]
        clean = [p for p in found if p is not None]
        return tuple(clean) if len(clean) == len(found) else None

    def numbers(self, key: str, size: int) -> tuple[float, ...] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        items = value if isinstance(value, list) else []
        clean = [float(v) for v in items if _finite(v)]
        if len(clean) != size or len(items) != size:
            self.mistyped(key, value, f"an array of {size} numbers", f"write {example(key)}")
            return None
        return tuple(clean)

    def table(self, key: str, where: str | None = None) -> Table | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.mistyped(key, value, "a table", f"write {example(key)} or a [{key}] table")
            return None
        return self.child(key, value, where)


def _finite(value: object) -> TypeGuard[int | float]:
    return is_number(value) and math.isfinite(value)


def _in_range(x: float, low: float | None, high: float | None, above: float | None) -> bool:
    return not (
        (low is not None and x < low)
        or (high is not None and x > high)
        or (above is not None and x <= above)
    )


def _range_text(low: float | None, high: float | None, above: float | None, bound: str) -> str:
    top = "" if high is None else f"{high:g}" + (f" ({bound})" if bound else "")
    if above is not None:
        start = f"greater than {above:g}"
        return start + (f" and at most {top}" if top else "")
    if low is not None and top:
        return f"from {low:g} to {top}"
    if low is not None:
        return f"of at least {low:g}"
    return f"of at most {top}"
