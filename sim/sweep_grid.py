"""Check a sweep grid against its scenario before any run starts.

The runs apply each point with ``tacmesh.sim.run.apply_overrides`` in the workers; a
parameter that is misspelt, or names traffic or a radio the scenario does not have, would
otherwise show up as one error row per point after the whole sweep, or worse, as a
parameter that silently changes nothing and draws a flat line. Here every value of every
parameter is applied once to the loaded scenario, and radio tables are resolved, in the
parent process, in well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tacmesh.sim.radio.catalog import load_profiles
from tacmesh.sim.run import apply_overrides
from tacmesh.sim.scenario.model import Scenario

PERIODS = frozenset({"every_s", "duration_s", "topology_interval_s", "metrics_bin_s"})
"""Fields that must be above zero: ``apply_overrides`` does not re-run the loader's checks,
and a period of 0 never lets virtual time move on (the worker would hang, not fail)."""


def check_grid(scenario: Scenario, grid: Mapping[str, Sequence[object]]) -> list[str]:
    """One message per problem of ``grid`` on ``scenario``; empty when every value applies
    and every parameter changes the scenario for at least one of its values."""
    problems: list[str] = []
    for path, values in grid.items():
        changed = False
        for value in values:
            if _not_positive(path, value):
                problems.append(f"{path}={value!r}: must be above zero")
                continue
            try:
                result = apply_overrides(scenario, {path: value})
                load_profiles(result.radios)  # radio fields are only checked when resolved
            except Exception as exc:  # any failure to apply is the user's to read
                problems.append(f"{path}={value!r}: {exc}")
                continue
            changed = changed or result != scenario
        if values and not changed and not any(p.startswith(f"{path}=") for p in problems):
            problems.append(
                f"{path}: no value changes the scenario (does it have what the path names, "
                "e.g. traffic of that kind?)"
            )
    return problems


def _not_positive(path: str, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return path.rpartition(".")[2] in PERIODS and value <= 0
