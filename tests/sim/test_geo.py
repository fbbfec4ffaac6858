"""The site plane against independent spherical formulas and published reference numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim import geo
from tacmesh.sim.scenario.model import Site as ScenarioSite

R = 6_371_008.8

origin_lats = st.floats(-85.0, 85.0)
lons = st.floats(-180.0, 179.999)
offsets = st.floats(-50_000.0, 50_000.0)


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


def destination(lat: float, lon: float, bearing_deg: float, d_m: float) -> tuple[float, float]:
    """Great-circle destination point (standard spherical formula)."""
    p1, l1, b, a = math.radians(lat), math.radians(lon), math.radians(bearing_deg), d_m / R
    p2 = math.asin(math.sin(p1) * math.cos(a) + math.cos(p1) * math.sin(a) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(a) * math.cos(p1), math.cos(a) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), math.degrees(l2)


@given(origin_lats, lons, offsets, offsets)
def test_local_to_latlon_round_trip(lat0: float, lon0: float, x: float, y: float) -> None:
    plane = geo.Plane(lat0, lon0)
    lat, lon = plane.to_latlon(x, y)
    assert -180.0 <= lon < 180.0
    back = plane.to_local(lat, lon)
    assert back == pytest.approx((x, y), abs=1e-6)


@given(origin_lats, lons, st.floats(-0.3, 0.3), st.floats(-0.3, 0.3))
def test_latlon_to_local_round_trip(lat0: float, lon0: float, dlat: float, dlon: float) -> None:
    plane = geo.Plane(lat0, lon0)
    lat, lon = lat0 + dlat, lon0 + dlon
    lat2, lon2 = plane.to_latlon(*plane.to_local(lat, lon))
    assert lat2 == pytest.approx(lat, abs=1e-9)
    # Same meridian, whichever side of the antimeridian it is written on.
    assert (lon2 - lon + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=1e-9)


def test_a_thousandth_of_a_degree_of_latitude_is_111_2_m() -> None:
    # One degree of latitude is about 111.2 km (mean-sphere value 2*pi*R/360 = 111.195 km).
    x, y = geo.Plane(48.0, 11.0).to_local(48.001, 11.0)
    assert x == 0.0
    assert y == pytest.approx(111.2, abs=0.01)


def test_a_degree_of_longitude_shrinks_with_cos_latitude() -> None:
    x, _ = geo.Plane(60.0, 0.0).to_local(60.0, 0.001)
    assert x == pytest.approx(111.195 / 2, abs=0.001)


@given(
    st.floats(-60.0, 60.0),
    lons,
    st.floats(0.0, 360.0),
    st.floats(0.0, 3_000.0),
    st.floats(0.0, 360.0),
)
def test_ten_km_apart_agrees_with_haversine(
    lat0: float, lon0: float, mid_bearing: float, mid_m: float, bearing: float
) -> None:
    """Two points 10 km apart, around a midpoint up to 3 km from the site origin."""
    plane = geo.Plane(lat0, lon0)
    mid = destination(lat0, lon0, mid_bearing, mid_m)
    a = destination(*mid, bearing, 5_000.0)
    b = destination(*mid, bearing + 180.0, 5_000.0)
    truth = haversine(*a, *b)
    assert truth == pytest.approx(10_000.0, rel=1e-6)
    local = geo.distance((*plane.to_local(*a), 0.0), (*plane.to_local(*b), 0.0))
    assert local == pytest.approx(truth, rel=1e-3)


def test_site_straddling_the_antimeridian() -> None:
    plane = geo.Plane(0.0, 179.95)
    x, _ = plane.to_local(0.0, -179.95)
    assert x == pytest.approx(math.radians(0.1) * R)
    assert plane.to_latlon(x, 0.0)[1] == pytest.approx(-179.95)


def test_accepts_the_scenario_site() -> None:
    site = ScenarioSite(lat=-33.9, lon=151.2)
    plane = geo.Plane.from_site(site)
    assert (plane.lat, plane.lon) == (-33.9, 151.2)
    assert geo.to_local(site, -33.9, 151.2) == (0.0, 0.0)
    assert geo.to_latlon(site, 0.0, 0.0) == pytest.approx((-33.9, 151.2))
    assert geo.Site is geo.Plane


@pytest.mark.parametrize("lat", [89.0, -86.0, math.nan])
def test_rejects_origins_near_a_pole(lat: float) -> None:
    with pytest.raises(ValueError, match="origin"):
        geo.Plane(lat, 0.0)


def test_distance_is_3d() -> None:
    assert geo.distance((1.0, 2.0, 3.0), (4.0, 6.0, 15.0)) == 13.0


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        ((100.0, 0.0, 100.0), 45.0),
        ((0.0, 100.0, -100.0), -45.0),
        ((0.0, 0.0, 50.0), 90.0),
        ((0.0, 0.0, 0.0), 0.0),
        ((300.0, 400.0, 500.0 * math.tan(math.radians(30.0))), 30.0),
    ],
)
def test_elevation(b: tuple[float, float, float], expected: float) -> None:
    assert geo.elevation_deg((0.0, 0.0, 0.0), b) == pytest.approx(expected)
