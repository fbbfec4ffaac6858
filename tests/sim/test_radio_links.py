"""Link models: path loss against the formulas written out here, delivery probability,
the pruning bound, per-pair shadowing and the UAV air-to-ground model."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim.radio import builtin_profiles, propagation, radio_horizon_m, shadowing_db

PROFILES = builtin_profiles()
NAMES = sorted(PROFILES)
C = 299_792_458.0


def fspl_db(d: float, f: float) -> float:
    return 20 * math.log10(4 * math.pi * d * f / C)


# -- log-distance --------------------------------------------------------------------------


def test_lora_path_loss_is_log_distance() -> None:
    lora = PROFILES["lora"]
    for d in (10.0, 500.0, 3000.0):
        expected = 31.2 + 10 * 2.9 * math.log10(d / 1.0)
        assert lora.path_loss_db(d, 1.5, 1.5) == pytest.approx(expected)
        assert lora.path_loss_db(d, 1.5, 8.0) == pytest.approx(expected)  # d is straight-line
        assert lora.rx_power_dbm(d, 1.5, 1.5, 4.0) == pytest.approx(14.0 - expected - 4.0)
    assert lora.path_loss_db(0.2, 1.5, 1.5) == pytest.approx(31.2)  # no gain inside 1 m


def test_reference_loss_is_free_space_at_one_metre() -> None:
    for name in ("lora", "wifi-mesh"):
        p = PROFILES[name]
        assert p.ref_loss_db == pytest.approx(fspl_db(1.0, p.frequency_hz), abs=0.05)


def test_lora_typical_range_is_a_few_km() -> None:
    # 14 dBm EIRP, -123 dBm: 137 dB of budget = 31.2 + 29*log10(d)  ->  d ~ 4.5 km
    closed_form = 10 ** ((14.0 + 123.0 - 31.2) / 29.0)
    reach = PROFILES["lora"].reach_m(1.5, 1.5)
    assert reach == pytest.approx(closed_form, abs=2.0)
    assert 3_000 < reach < 6_000
    assert 6_000 < PROFILES["lora-long"].reach_m(1.5, 1.5) < 12_000
    assert 300 < PROFILES["wifi-mesh"].reach_m(2.0, 2.0) < 1_000


def test_soft_edge_is_linear_over_the_fade_width() -> None:
    lora = PROFILES["lora"]
    edge = lora.reach_m(1.5, 1.5)
    assert lora.delivery_probability(edge, 1.5, 1.5, 0.0) == pytest.approx(0.5, abs=1e-3)
    assert lora.delivery_probability(edge, 1.5, 1.5, -2.0) == 1.0  # margin +fade/2
    assert lora.delivery_probability(edge, 1.5, 1.5, 2.0) == pytest.approx(0.0, abs=1e-3)
    assert lora.delivery_probability(edge, 1.5, 1.5, 1.0) == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize("name", NAMES)
def test_short_distance_certain_long_distance_impossible(name: str) -> None:
    p = PROFILES[name]
    assert p.delivery_probability(5.0, 1.5, 1.5, 0.0) == 1.0
    far = 2e9 if name == "satellite" else 500_000.0
    assert p.delivery_probability(far, 1.5, 1.5, 0.0) == 0.0
    assert not p.in_range(far, 1.5, 1.5)


def test_lte_range_ramp() -> None:
    lte = PROFILES["lte"]
    assert lte.delivery_probability(4000, 1.5, 1.5, 0.0) == 1.0
    assert lte.delivery_probability(4500, 1.5, 1.5, 0.0) == pytest.approx(0.5)
    assert lte.delivery_probability(5000, 1.5, 1.5, 0.0) == 0.0


@given(
    name=st.sampled_from(NAMES),
    d1=st.floats(0, 200_000),
    d2=st.floats(0, 200_000),
    alt_a=st.sampled_from([0.0, 1.5, 10.0, 120.0, 1000.0]),
    alt_b=st.sampled_from([0.0, 1.5, 30.0, 500.0]),
    z=st.floats(-3, 3),
)
def test_delivery_monotone_in_distance(
    *, name: str, d1: float, d2: float, alt_a: float, alt_b: float, z: float
) -> None:
    p = PROFILES[name]
    near, far = sorted((d1, d2))
    shadow = z * p.shadowing_db
    assert p.delivery_probability(near, alt_a, alt_b, shadow) >= p.delivery_probability(
        far, alt_a, alt_b, shadow
    )


@given(
    name=st.sampled_from(NAMES),
    d=st.floats(0, 200_000),
    alt_a=st.floats(0, 2000),
    alt_b=st.floats(0, 50),
    z=st.floats(-3, 3),
    pair=st.tuples(st.integers(0, 2**16), st.integers(0, 2**16)),
)
def test_in_range_bounds_delivery(
    *, name: str, d: float, alt_a: float, alt_b: float, z: float, pair: tuple[int, int]
) -> None:
    p = PROFILES[name]
    for shadow in (z * p.shadowing_db, shadowing_db(7, *pair, p.shadowing_db)):
        if p.delivery_probability(d, alt_a, alt_b, shadow) > 0:
            assert p.in_range(d, alt_a, alt_b)


@given(name=st.sampled_from(NAMES), alt=st.sampled_from([1.5, 100.0, 1000.0]))
def test_reach_is_where_probability_crosses(name: str, alt: float) -> None:
    p = PROFILES[name]
    reach = p.reach_m(alt, 1.5)
    if reach == 0.0:  # e.g. Wi-Fi to a UAV 1 km up: out of reach right overhead
        assert p.delivery_probability(0.0, alt, 1.5, 0.0) < 0.5
        return
    assert p.delivery_probability(reach, alt, 1.5, 0.0) >= 0.5
    assert p.delivery_probability(reach + 2.0, alt, 1.5, 0.0) < 0.5


# -- shadowing -----------------------------------------------------------------------------


def test_shadowing_symmetric_deterministic_and_fixed() -> None:
    assert shadowing_db(1, 10, 20, 6.0) == shadowing_db(1, 20, 10, 6.0)
    assert shadowing_db(1, 10, 20, 6.0) == shadowing_db(1, 10, 20, 6.0)
    assert shadowing_db(2, 10, 20, 6.0) != shadowing_db(1, 10, 20, 6.0)
    assert shadowing_db(1, 10, 20, 0.0) == 0.0
    # pinned: the same on every machine and Python run (blake2b + random.Random)
    assert shadowing_db(1, 10, 20, 6.0) == pytest.approx(0.4843524875914237, abs=1e-12)
    assert shadowing_db(42, 7, 3, 1.0) == pytest.approx(-1.4908757806364574, abs=1e-12)


def test_shadowing_is_gaussian_over_pairs() -> None:
    sigma = 6.0
    draws = [shadowing_db(3, a, a + 1 + a % 7, sigma) for a in range(4000)]
    assert abs(statistics.fmean(draws)) < 0.1 * sigma
    # truncation at 3 sigma leaves the sd at 0.986 sigma
    assert statistics.pstdev(draws) == pytest.approx(sigma, rel=0.05)
    within_one = sum(abs(x) <= sigma for x in draws) / len(draws)
    assert within_one == pytest.approx(0.683, abs=0.03)
    assert max(abs(x) for x in draws) <= 3 * sigma


# -- air to ground -------------------------------------------------------------------------


def test_horizon_formula() -> None:
    assert radio_horizon_m(100.0, 4.0) == pytest.approx(4120.0 * (10.0 + 2.0))
    assert radio_horizon_m(1000.0, 1.5) == pytest.approx(4120.0 * (math.sqrt(1000) + 1.5**0.5))


def test_air_loss_against_formulas() -> None:
    air = PROFILES["air"]
    ground, h_uav, h_gnd = 5000.0, 1000.0, 1.5
    slant = math.hypot(ground, h_uav - h_gnd)  # the world passes straight-line distances
    theta = math.degrees(math.atan((h_uav - h_gnd) / ground))
    p_los = 1 / (1 + 9.61 * math.exp(-0.16 * (theta - 9.61)))
    expected = fspl_db(slant, 1.4e9) + p_los * 1.0 + (1 - p_los) * 20.0
    assert air.path_loss_db(slant, h_uav, h_gnd) == pytest.approx(expected)
    # two handhelds: past 4*pi*h*h/lambda the plane-earth 40 dB/decade law governs
    d = 3000.0
    plane_earth = 40 * math.log10(d) - 20 * math.log10(1.5 * 1.5)
    expected = plane_earth + propagation.excess_loss_db(0.0, 9.61, 0.16, 1.0, 20.0)
    assert air.path_loss_db(d, 1.5, 1.5) == pytest.approx(expected)


def test_air_range_grows_with_altitude() -> None:
    air = PROFILES["air"]
    reaches = [air.reach_m(h, 1.5) for h in (1.5, 10.0, 50.0, 100.0, 300.0, 1000.0)]
    assert reaches == sorted(reaches) and len(set(reaches)) == len(reaches)
    ground, at_100, at_1000 = reaches[0], reaches[3], reaches[-1]
    assert 20_000 <= at_1000 <= 40_000
    assert at_100 < 0.6 * at_1000
    assert ground < 3_000  # two ground nodes on the air profile: short range only


def test_air_nothing_beyond_the_horizon() -> None:
    air = PROFILES["air"]
    horizon = radio_horizon_m(100.0, 1.5)
    best = -3 * air.shadowing_db
    assert air.delivery_probability(horizon + 10.0, 100.0, 1.5, best) == 0.0
    assert not air.in_range(horizon + 10.0, 100.0, 1.5)
    assert air.rx_power_dbm(horizon + 10.0, 100.0, 1.5, 0.0) == -math.inf
    assert air.delivery_probability(horizon - 10.0, 100.0, 1.5, best) == 0.0  # budget first


def test_air_uavs_above_clutter_see_each_other_far() -> None:
    air = PROFILES["air"]
    assert air.reach_m(1000.0, 800.0) > 100_000


def test_excess_loss_falls_with_elevation() -> None:
    angles = [0.0, 5.0, 10.0, 20.0, 45.0, 90.0]
    losses = [propagation.excess_loss_db(a, 9.61, 0.16, 1.0, 20.0) for a in angles]
    assert losses == sorted(losses, reverse=True)
    assert losses[0] > 19.0 and losses[-1] < 1.1
