"""Timed paths: the shape every ground track is made of.

A ``Path`` is a list of knots (time, x, y), strictly ordered in time, between which the
node moves in a straight line at constant speed; two knots at the same place are a pause.
Before the first knot the node is at the first, after the last it stays at the last.

Rules kept: ``position(t)`` is pure (a binary search over data fixed at construction), so
the world may ask for any time in any order and always gets the same answer.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import Protocol

Point2 = tuple[float, float]
Point3 = tuple[float, float, float]


class Track(Protocol):
    """Where a node is: x, y (m on the site plane) and altitude (m) at ``t`` s from the start."""

    def position(self, t: float) -> Point3: ...


def lerp(a: Point2, b: Point2, f: float) -> Point2:
    """The point a fraction ``f`` of the way from ``a`` to ``b``."""
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


class Path:
    """Piecewise-linear motion through timed knots, at a fixed altitude."""

    __slots__ = ("_points", "_times", "altitude_m")

    def __init__(self, knots: Sequence[tuple[float, float, float]], altitude_m: float) -> None:
        if not knots:
            raise ValueError("a path needs at least one knot")
        times = [k[0] for k in knots]
        if any(t1 < t0 for t0, t1 in itertools.pairwise(times)):
            raise ValueError("path knots must be in time order")
        self._times = times
        self._points = [(k[1], k[2]) for k in knots]
        self.altitude_m = altitude_m

    @property
    def ends_at(self) -> float:
        """Time of the last knot (the node holds still from then on)."""
        return self._times[-1]

    @property
    def knots(self) -> list[tuple[float, float, float]]:
        """The (time, x, y) knots, a copy."""
        return [(t, p[0], p[1]) for t, p in zip(self._times, self._points, strict=True)]

    def ground(self, t: float) -> Point2:
        """x, y at ``t``."""
        i = bisect.bisect_right(self._times, t)
        if i == 0:
            return self._points[0]
        if i == len(self._times):
            return self._points[-1]
        t0, t1 = self._times[i - 1], self._times[i]
        # t0 < t1 here: bisect_right skips zero-length steps.
        return lerp(self._points[i - 1], self._points[i], (t - t0) / (t1 - t0))

    def position(self, t: float) -> Point3:
        x, y = self.ground(t)
        return x, y, self.altitude_m


def walk(
    start: Point2, stops: Sequence[Point2], speed_mps: float, t0: float = 0.0
) -> list[tuple[float, float, float]]:
    """Knots for a walk from ``start`` through ``stops`` at ``speed_mps``, leaving at ``t0``."""
    knots = [(t0, start[0], start[1])]
    t, here = t0, start
    for stop in stops:
        t += math.dist(here, stop) / speed_mps
        knots.append((t, stop[0], stop[1]))
        here = stop
    return knots
