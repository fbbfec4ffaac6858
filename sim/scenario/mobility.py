"""Reading a node's ``mobility`` table into ``model.Mobility``.

Rules: ``model`` is required once the table is there; keys that only one model reads are
refused on the others (the simulator would silently ignore them); each model's needs are
checked here (waypoints, sortie, group, random_waypoint); an orbit or sortie without its
own ``altitude_m`` flies at the node's ``altitude_m``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, cast

from tacmesh.sim.scenario.fields import MOBILITY_APPLIES, MOBILITY_KEYS, MOBILITY_MODELS, example
from tacmesh.sim.scenario.model import Mobility
from tacmesh.sim.scenario.reader import Table, present
from tacmesh.sim.scenario.words import show

ModelName = Literal["static", "waypoints", "random_waypoint", "group", "orbit", "sortie"]


def read_mobility(node: Table, altitude: float | None, has_team: bool) -> Mobility | None:
    """The node's mobility, or None when absent (the model's default) or wrong (reported)."""
    m = node.table("mobility")
    if m is None:
        return None
    m.check_keys(MOBILITY_KEYS)
    model = m.choice("model", MOBILITY_MODELS, required=True)
    values: dict[str, object | None] = {
        "speed_mps": m.number("speed_mps", above=0),
        "waypoints": m.points("waypoints"),
        "area": _area(m),
        "pause_s": m.number("pause_s", low=0),
        "radius_m": m.number("radius_m", above=0),
        "altitude_m": m.number("altitude_m", low=0),
        "endurance_s": m.number("endurance_s", above=0),
        "takeoff_s": m.number("takeoff_s", low=0),
        "base": m.point("base"),
        "leader": m.text("leader"),
    }
    if model is None:
        return None
    _check_applies(m, model)
    _check_needs(m, model, altitude, has_team)
    if model in ("orbit", "sortie") and values["altitude_m"] is None:
        values["altitude_m"] = altitude
    if not m.ok:
        return None
    return replace(Mobility(model=cast(ModelName, model)), **present(values))


def _area(m: Table) -> tuple[float, float, float, float] | None:
    box = m.numbers("area", 4)
    if box is None:
        return None
    x_min, y_min, x_max, y_max = box
    if x_min >= x_max or y_min >= y_max:
        m.problem(
            "area",
            f"area = {show(list(box))} is empty",
            "write [x_min, y_min, x_max, y_max] with x_min < x_max and y_min < y_max",
        )
        return None
    return (x_min, y_min, x_max, y_max)


def _check_applies(m: Table, model: str) -> None:
    for key, models in MOBILITY_APPLIES.items():
        if m.has(key) and model not in models:
            users = " or ".join(f'"{name}"' for name in models)
            verb = "reads" if len(models) == 1 else "read"
            m.problem(
                key,
                f'{key} does not apply to mobility model "{model}"',
                f"remove it (only {users} {verb} it)",
            )


def _check_needs(m: Table, model: str, altitude: float | None, has_team: bool) -> None:
    def need(key: str, why: str = "", fix: str = "") -> None:
        what = f'mobility model "{model}" needs {key}{why}'
        m.problem(None, what, fix or f"add {example(key)}")

    if model in ("waypoints", "sortie") and not m.raw.get("waypoints"):
        need("waypoints", " (the loiter point first)" if model == "sortie" else "")
    if model == "sortie":
        if not m.has("endurance_s"):
            need("endurance_s")
        if not m.has("altitude_m") and not altitude:
            need("altitude_m", " (here or on the node)", "add altitude_m = 800")
    if model == "group" and not m.has("leader") and not has_team:
        m.problem(
            None,
            'mobility model "group" needs a leader or a team',
            f'add {example("leader")} to mobility, or team = "<name>" to the node',
        )
    if model == "random_waypoint" and not m.has("area") and not has_team:
        m.problem(
            None,
            'mobility model "random_waypoint" needs an area or a team',
            f"add {example('area')} to mobility, or a team to the node",
        )
