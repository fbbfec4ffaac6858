"""The site's local plane: latitude/longitude <-> metres east and north of the origin.

The simulator works in metres on a flat plane around the site origin (x east, y north,
z altitude), as the scenario does. The projection is equirectangular around the origin on
a sphere of the WGS-84 mean radius (6,371,008.8 m):

    x = R * (lon - lon0) * cos(lat0)        y = R * (lat - lat0)          (radians)

It is exact north-south and along the origin's parallel; elsewhere east-west distances
are off by about ``tan(lat0) * dy / R`` (dy = metres north or south of the origin):
0.16 % at 45 degrees and 10 km from the origin. That is fine for sites of tens of km (a
few hundredths of a dB of path loss) and wrong for continents or near the poles, so the
origin must lie within 85 degrees of the equator.

Rules kept: pure functions of their arguments; longitudes are wrapped so a site that
straddles the antimeridian works; ``to_latlon`` inverts ``to_local`` exactly (up to
floating point) and returns longitudes in [-180, 180).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

EARTH_RADIUS_M = 6_371_008.8
"""WGS-84 mean radius (IUGG R1)."""

MAX_ORIGIN_LAT_DEG = 85.0
"""Beyond this the east-west scale cos(lat0) collapses and the plane stops being useful."""

Point3 = tuple[float, float, float]


class HasLatLon(Protocol):
    """Anything with ``lat`` and ``lon`` in degrees (e.g. ``tacmesh.sim.scenario.model.Site``)."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


def _wrap_lon(lon: float) -> float:
    """Longitude (degrees) folded into [-180, 180)."""
    return (lon + 180.0) % 360.0 - 180.0


@dataclass(frozen=True, slots=True)
class Plane:
    """The local plane whose origin (x = y = 0) is at ``lat``, ``lon`` (degrees)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)):
            raise ValueError(f"site origin must be finite, got lat={self.lat}, lon={self.lon}")
        if abs(self.lat) > MAX_ORIGIN_LAT_DEG:
            raise ValueError(
                f"site origin latitude {self.lat} is beyond +-{MAX_ORIGIN_LAT_DEG} degrees: "
                "the equirectangular plane is meaningless that close to a pole"
            )

    @classmethod
    def from_site(cls, site: HasLatLon) -> Plane:
        """The plane of a scenario's ``Site`` (or anything with ``lat`` and ``lon``)."""
        return cls(site.lat, site.lon)

    @property
    def _east_scale(self) -> float:
        """Metres per radian of longitude on the origin's parallel."""
        return EARTH_RADIUS_M * math.cos(math.radians(self.lat))

    def to_local(self, lat: float, lon: float) -> tuple[float, float]:
        """Metres (east, north) of the point ``lat``, ``lon`` from the origin."""
        d_lon = _wrap_lon(lon - self.lon)
        x = math.radians(d_lon) * self._east_scale
        y = math.radians(lat - self.lat) * EARTH_RADIUS_M
        return x, y

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        """Degrees (lat, lon) of the point ``x`` m east and ``y`` m north of the origin."""
        lat = self.lat + math.degrees(y / EARTH_RADIUS_M)
        lon = _wrap_lon(self.lon + math.degrees(x / self._east_scale))
        return lat, lon


Site = Plane
"""The same class under the name the simulator's brief used (not the scenario's ``Site``,
which is plain data: turn that into a plane with ``Plane.from_site``)."""


def to_local(site: HasLatLon, lat: float, lon: float) -> tuple[float, float]:
    """Metres (east, north) of ``lat``, ``lon`` from the origin ``site``."""
    return Plane.from_site(site).to_local(lat, lon)


def to_latlon(site: HasLatLon, x: float, y: float) -> tuple[float, float]:
    """Degrees (lat, lon) of the point ``x`` m east and ``y`` m north of ``site``."""
    return Plane.from_site(site).to_latlon(x, y)


def distance(a: Point3, b: Point3) -> float:
    """Straight-line (3-D Euclidean) metres between two (x, y, z) points on the plane."""
    return math.dist(a, b)


def elevation_deg(a: Point3, b: Point3) -> float:
    """Angle (degrees) above the horizontal at which ``a`` sees ``b``; negative below.

    Flat plane, no earth curvature (the drop is d**2 / 2R: 8 m at 10 km), so for long
    low paths this slightly overstates the angle. +-90 straight up or down, 0 for a == b.
    """
    ground = math.hypot(b[0] - a[0], b[1] - a[1])
    return math.degrees(math.atan2(b[2] - a[2], ground))
