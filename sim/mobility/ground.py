"""Ground movement: fixed routes, the random waypoint model and team (group) movement.

Random draws happen once, at construction, from the ``random.Random`` the caller passes,
in a fixed order; the resulting knots are plain data, so a track is deterministic for a
seed and answers ``position(t)`` for any ``t`` in any order.

Random waypoint (Johnson & Maltz): pause, pick a destination uniformly in the region, walk
there in a straight line, repeat. Each leg's speed is uniform in [0.5, 1.5] x the nominal
speed: the mean stays nominal, and keeping the minimum away from zero avoids the slow
decay of average speed that a [0, v] draw causes (Yoon, Liu & Noble, "Random waypoint
considered harmful", 2003). So the node never moves faster than 1.5 x ``speed_mps``.
Legs are drawn until ``duration_s``; after that the node stays where it got to.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from tacmesh.sim.mobility.path import Path, Point2, Point3, Track

SPEED_SPREAD = (0.5, 1.5)
"""Each random-waypoint leg's speed, as a fraction of the nominal speed."""

MAX_KNOTS = 1_000_000
"""More than this means a tiny region or pause over a long run: a scenario mistake, and
memory we should not spend silently."""


def in_area(area: tuple[float, float, float, float]) -> Callable[[random.Random], Point2]:
    """Draws uniform points in the rectangle (x_min, y_min, x_max, y_max)."""
    x_min, y_min, x_max, y_max = area

    def draw(rng: random.Random) -> Point2:
        return rng.uniform(x_min, x_max), rng.uniform(y_min, y_max)

    return draw


def in_disc(radius_m: float) -> Callable[[random.Random], Point2]:
    """Draws uniform points in the disc of ``radius_m`` around (0, 0)."""

    def draw(rng: random.Random) -> Point2:
        # sqrt: uniform over the area, not crowded at the centre.
        r = radius_m * math.sqrt(rng.random())
        a = 2.0 * math.pi * rng.random()
        return r * math.cos(a), r * math.sin(a)

    return draw


def roam(
    start: Point2,
    draw: Callable[[random.Random], Point2],
    *,
    speed_mps: float,
    pause_s: float,
    rng: random.Random,
    until_s: float,
) -> list[tuple[float, float, float]]:
    """Random-waypoint knots from ``start`` until at least ``until_s``."""
    knots = [(0.0, start[0], start[1])]
    t, here = 0.0, start
    while t < until_s:
        before = t
        if pause_s > 0:
            t += pause_s
            knots.append((t, here[0], here[1]))
        there = draw(rng)
        speed = speed_mps * rng.uniform(*SPEED_SPREAD)
        t += math.dist(here, there) / speed
        knots.append((t, there[0], there[1]))
        here = there
        if t == before:
            break  # a single-point region and no pause: nothing will ever change
        if len(knots) > MAX_KNOTS:
            raise ValueError(
                f"random_waypoint: more than {MAX_KNOTS} legs before {until_s} s; "
                "the area or pause_s is too small for the scenario's duration"
            )
    return knots


class Group:
    """Reference point group mobility: the leader's track plus this member's own offset,
    which roams (random waypoint) inside a disc of ``radius_m``, so the member is never
    farther than that from the leader on the ground. Altitude is the member's own."""

    __slots__ = ("leader", "offset", "radius_m")

    def __init__(self, leader: Track, offset: Path, radius_m: float) -> None:
        self.leader = leader
        self.offset = offset
        self.radius_m = radius_m

    def position(self, t: float) -> Point3:
        lx, ly, _ = self.leader.position(t)
        ox, oy = self.offset.ground(t)
        return lx + ox, ly + oy, self.offset.altitude_m


def first_offset(start: Point2, leader_at_0: Point2, radius_m: float) -> Point2:
    """The member's offset at t = 0: where it starts relative to the leader, pulled in to
    the edge of the disc if it starts farther out (it joins its team at once)."""
    dx, dy = start[0] - leader_at_0[0], start[1] - leader_at_0[1]
    d = math.hypot(dx, dy)
    if d <= radius_m:
        return dx, dy
    return dx * radius_m / d, dy * radius_m / d
