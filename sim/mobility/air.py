"""UAV relays: loitering on a circle, and sorties limited by endurance.

An ``Orbit`` flies a circle clockwise (right-hand turns, as holding patterns and most
autopilot loiters do) at constant speed, so its angular speed is speed / radius.

A ``Sortie`` takes off from its base at ``takeoff_s`` (0 unless a relief waits on the
ground), flies straight to the nearest point of its loiter circle, orbits, and leaves the
circle at the last moment that still gets it home at cruise speed when its endurance
(counted from take-off) runs out. Climb and descent are not modelled: it is at cruise
altitude from take-off until landing, and on the ground (altitude 0, at base) before
``takeoff_s`` and from ``lands_at`` on. With no endurance it never leaves.

Speeds are taken from the spec as given; the scenario's default (1.2 m/s, a walker) is
the caller's to replace for aircraft (fixed-wing relays cruise at about 20-25 m/s).
"""

from __future__ import annotations

import math

from tacmesh.sim.mobility.path import Point2, Point3, lerp


class Orbit:
    """A clockwise circle of ``radius_m`` around ``centre`` at ``speed_mps``, passing the
    angle ``phase_rad`` (from east, counter-clockwise) at time ``t0``."""

    __slots__ = ("altitude_m", "centre", "phase_rad", "radius_m", "speed_mps", "t0")

    def __init__(
        self,
        centre: Point2,
        radius_m: float,
        speed_mps: float,
        altitude_m: float,
        *,
        phase_rad: float = 0.0,
        t0: float = 0.0,
    ) -> None:
        if not radius_m > 0:
            raise ValueError(f"orbit radius_m must be > 0, got {radius_m}")
        if not speed_mps > 0:
            raise ValueError(f"orbit speed_mps must be > 0, got {speed_mps}")
        self.centre = centre
        self.radius_m = radius_m
        self.speed_mps = speed_mps
        self.altitude_m = altitude_m
        self.phase_rad = phase_rad
        self.t0 = t0

    @property
    def angular_speed(self) -> float:
        """Radians per second (clockwise)."""
        return self.speed_mps / self.radius_m

    @property
    def period_s(self) -> float:
        """Time for one lap."""
        return 2.0 * math.pi * self.radius_m / self.speed_mps

    def ground(self, t: float) -> Point2:
        a = self.phase_rad - self.angular_speed * (t - self.t0)
        return (
            self.centre[0] + self.radius_m * math.cos(a),
            self.centre[1] + self.radius_m * math.sin(a),
        )

    def position(self, t: float) -> Point3:
        x, y = self.ground(t)
        return x, y, self.altitude_m


def bearing_from(centre: Point2, point: Point2) -> float:
    """Angle (radians from east) of ``point`` seen from ``centre``; east if they coincide."""
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    return math.atan2(dy, dx) if (dx, dy) != (0.0, 0.0) else 0.0


class Sortie:
    """Out from ``base`` to the loiter circle, orbit, back to base by ``endurance_s``."""

    __slots__ = (
        "arrives_at",
        "base",
        "entry",
        "exit",
        "lands_at",
        "leaves_at",
        "loiter",
        "takeoff_s",
    )

    def __init__(
        self,
        base: Point2,
        centre: Point2,
        *,
        radius_m: float,
        speed_mps: float,
        altitude_m: float,
        endurance_s: float | None,
        takeoff_s: float = 0.0,
    ) -> None:
        if not (radius_m > 0 and speed_mps > 0):
            raise ValueError(
                f"sortie radius_m and speed_mps must be > 0, got {radius_m}, {speed_mps}"
            )
        if not (takeoff_s >= 0 and math.isfinite(takeoff_s)):
            raise ValueError(f"sortie takeoff_s must be >= 0, got {takeoff_s}")
        phase = bearing_from(centre, base)
        self.base = base
        self.takeoff_s = takeoff_s
        self.entry: Point2 = (
            centre[0] + radius_m * math.cos(phase),
            centre[1] + radius_m * math.sin(phase),
        )
        out_s = math.dist(base, self.entry) / speed_mps
        self.arrives_at = takeoff_s + out_s
        self.loiter = Orbit(
            centre, radius_m, speed_mps, altitude_m, phase_rad=phase, t0=self.arrives_at
        )
        if endurance_s is None:
            self.leaves_at = self.lands_at = math.inf
            self.exit = self.entry  # never used: it never leaves
            return
        if endurance_s < 2.0 * out_s:
            hint = " (1.2 m/s is a walker's speed: set the UAV's)" if speed_mps <= 2 else ""
            raise ValueError(
                f"sortie endurance_s {endurance_s:g} s is shorter than the flight out to "
                f"the loiter circle and back ({2.0 * out_s:g} s at "
                f"{speed_mps:g} m/s){hint}"
            )
        self.lands_at = takeoff_s + endurance_s
        self.leaves_at = self._last_departure(self.lands_at)
        self.exit = self.loiter.ground(self.leaves_at)

    def _last_departure(self, lands_at: float) -> float:
        """Latest time on the circle from which straight home at cruise speed lands by
        ``lands_at``. ``t + distance_home(t) / speed`` never decreases (the distance
        home cannot shrink faster than the UAV flies), so bisection finds it."""
        speed = self.loiter.speed_mps

        def late(t: float) -> bool:
            return t + math.dist(self.loiter.ground(t), self.base) / speed > lands_at

        lo, hi = self.arrives_at, lands_at  # late(lo) is False: checked by the caller
        while True:
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                return lo  # floating point resolution: lo is on time
            if late(mid):
                hi = mid
            else:
                lo = mid

    @property
    def return_s(self) -> float:
        """Duration of the flight home (``lands_at - leaves_at``)."""
        return self.lands_at - self.leaves_at

    def position(self, t: float) -> Point3:
        alt = self.loiter.altitude_m
        if t < self.takeoff_s or t >= self.lands_at:
            return self.base[0], self.base[1], 0.0
        if t < self.arrives_at:
            out_s = self.arrives_at - self.takeoff_s
            x, y = lerp(self.base, self.entry, (t - self.takeoff_s) / out_s)
        elif t < self.leaves_at:
            x, y = self.loiter.ground(t)
        else:
            x, y = lerp(self.exit, self.base, (t - self.leaves_at) / self.return_s)
        return x, y, alt
