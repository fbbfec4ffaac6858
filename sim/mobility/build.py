"""``make_track``: turn a scenario ``Mobility`` spec into a track, refusing impossible specs.

Models (the fields each reads are in ``tacmesh.sim.scenario.model.Mobility``):

- ``static``: stays at ``start``.
- ``waypoints``: from ``start`` through each waypoint in order at ``speed_mps``, without
  pausing (``pause_s`` is ignored: its default is meant for random waypoint), then holds.
- ``random_waypoint``: see ``ground.py``; in ``area``, or ``default_area`` if None.
- ``group``: around ``leader`` within ``radius_m`` (see ``ground.Group``); with no leader
  it roams the area like ``random_waypoint`` (that is how a team leader moves).
- ``orbit``: a circle of ``radius_m`` around the first waypoint (or ``start``) at
  ``speed_mps``, starting at the point of the circle nearest ``start``.
- ``sortie``: see ``air.Sortie``; base = ``spec.base`` or ``start``, loiter centre = the
  first waypoint (or ``start``).

Altitude: ``spec.altitude_m`` if > 0, else the node's ``altitude_m``. Speeds are used as
given (no quiet UAV default: the caller sets aircraft speeds).
"""

from __future__ import annotations

import math
import random

from tacmesh.sim.mobility.air import Orbit, Sortie, bearing_from
from tacmesh.sim.mobility.ground import Group, first_offset, in_area, in_disc, roam
from tacmesh.sim.mobility.path import Path, Point2, Track, walk
from tacmesh.sim.scenario.model import Mobility

Area = tuple[float, float, float, float]


def make_track(
    spec: Mobility,
    *,
    start: Point2,
    altitude_m: float,
    rng: random.Random,
    default_area: Area,
    leader: Track | None = None,
    duration_s: float,
) -> Track:
    """The track of a node that starts at ``start`` and moves as ``spec`` says.

    Raises ValueError, naming the model and field, for a spec that cannot be flown.
    Random models draw from ``rng`` here and only here.
    """
    check(spec, start=start, duration_s=duration_s)
    alt = spec.altitude_m if spec.altitude_m > 0 else altitude_m
    model = spec.model
    if model == "static":
        return Path([(0.0, start[0], start[1])], alt)
    if model == "waypoints":
        return Path(walk(start, spec.waypoints, spec.speed_mps), alt)
    if model == "random_waypoint" or (model == "group" and leader is None):
        area = spec.area if spec.area is not None else default_area
        _check_area(area, model)
        knots = roam(
            start,
            in_area(area),
            speed_mps=spec.speed_mps,
            pause_s=spec.pause_s,
            rng=rng,
            until_s=duration_s,
        )
        return Path(knots, alt)
    if model == "group":
        assert leader is not None
        lx, ly, _ = leader.position(0.0)
        offset0 = first_offset(start, (lx, ly), spec.radius_m)
        knots = roam(
            offset0,
            in_disc(spec.radius_m),
            speed_mps=spec.speed_mps,
            pause_s=spec.pause_s,
            rng=rng,
            until_s=duration_s,
        )
        return Group(leader, Path(knots, alt), spec.radius_m)
    centre = spec.waypoints[0] if spec.waypoints else start
    if model == "orbit":
        phase = bearing_from(centre, start)
        return Orbit(centre, spec.radius_m, spec.speed_mps, alt, phase_rad=phase)
    if model == "sortie":
        base = spec.base if spec.base is not None else start
        return Sortie(
            base,
            centre,
            radius_m=spec.radius_m,
            speed_mps=spec.speed_mps,
            altitude_m=alt,
            endurance_s=spec.endurance_s,
            takeoff_s=spec.takeoff_s,
        )
    raise ValueError(f"unknown mobility model {model!r}")


def _finite(what: str, *values: float) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what} must be finite numbers, got {values}")


def check(spec: Mobility, *, start: Point2, duration_s: float) -> None:
    """Raise ValueError for a spec no track can follow (the sortie's endurance is checked
    against its geometry by ``Sortie`` itself)."""
    m = spec.model
    _finite("start", *start)
    _finite("duration_s", duration_s)
    _finite(f"{m}: speed_mps, pause_s, radius_m, altitude_m, takeoff_s", *_scalars(spec))
    for point in (*spec.waypoints, *([spec.base] if spec.base else [])):
        _finite(f"{m}: waypoint/base coordinates", *point)
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    if spec.speed_mps < 0:
        raise ValueError(f"{m}: speed_mps must be >= 0, got {spec.speed_mps}")
    if m != "static" and spec.speed_mps == 0:
        raise ValueError(f"{m}: speed_mps must be > 0 for a moving node")
    if spec.pause_s < 0:
        raise ValueError(f"{m}: pause_s must be >= 0, got {spec.pause_s}")
    if m == "waypoints" and not spec.waypoints:
        raise ValueError("waypoints: the model needs at least one waypoint")
    if m in ("orbit", "sortie") and not spec.radius_m > 0:
        raise ValueError(f"{m}: radius_m (loiter circle) must be > 0, got {spec.radius_m}")
    if m == "group" and spec.radius_m < 0:
        raise ValueError(f"group: radius_m must be >= 0, got {spec.radius_m}")
    if m == "sortie" and spec.endurance_s is not None and not spec.endurance_s > 0:
        raise ValueError(f"sortie: endurance_s must be > 0, got {spec.endurance_s}")
    if m == "sortie" and not spec.takeoff_s >= 0:
        raise ValueError(f"sortie: takeoff_s must be >= 0, got {spec.takeoff_s}")


def _scalars(spec: Mobility) -> tuple[float, ...]:
    extra = () if spec.endurance_s is None else (spec.endurance_s,)
    return (spec.speed_mps, spec.pause_s, spec.radius_m, spec.altitude_m, spec.takeoff_s, *extra)


def _check_area(area: Area, model: str) -> None:
    _finite(f"{model}: area", *area)
    x_min, y_min, x_max, y_max = area
    if x_min > x_max or y_min > y_max:
        raise ValueError(f"{model}: area must be (x_min, y_min, x_max, y_max), got {area}")
