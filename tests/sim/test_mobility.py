"""Mobility tracks against positions computed independently here, plus the invariants the
world relies on: bounded speed, staying in the area or near the leader, purity."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim.mobility import Orbit, Sortie, Track, make_track
from tacmesh.sim.scenario.model import Mobility

AREA = (0.0, 0.0, 2_000.0, 1_000.0)
DURATION = 3_600.0

coords = st.floats(-5_000.0, 5_000.0)
points = st.tuples(coords, coords)
times = st.floats(0.0, 2 * DURATION)


def track(
    spec: Mobility,
    *,
    start: tuple[float, float] = (0.0, 0.0),
    seed: int = 1,
    leader: Track | None = None,
    altitude_m: float = 1.5,
) -> Track:
    return make_track(
        spec,
        start=start,
        altitude_m=altitude_m,
        rng=random.Random(seed),
        default_area=AREA,
        leader=leader,
        duration_s=DURATION,
    )


def ground_dist(a: Sequence[float], b: Sequence[float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def assert_speed_bound(t: Track, speed: float, samples: Sequence[float]) -> None:
    ts = sorted(samples)
    for t1, t2 in itertools.pairwise(ts):
        moved = ground_dist(t.position(t1), t.position(t2))
        assert moved <= speed * (t2 - t1) + 1e-6 * (1 + speed * t2)


# static -----------------------------------------------------------------------------


def test_static_stays_put() -> None:
    t = track(Mobility(), start=(12.0, -7.0))
    assert {t.position(s) for s in (0.0, 5.0, 1e6, -3.0)} == {(12.0, -7.0, 1.5)}
    assert track(Mobility(altitude_m=30.0)).position(9.0)[2] == 30.0


# waypoints ---------------------------------------------------------------------------


def test_waypoints_by_hand() -> None:
    # 500 m at 2 m/s (250 s), then 400 m (200 s); no pause.
    t = track(Mobility(model="waypoints", speed_mps=2.0, waypoints=((300.0, 400.0), (300.0, 0.0))))
    assert t.position(0.0) == (0.0, 0.0, 1.5)
    assert t.position(125.0) == pytest.approx((150.0, 200.0, 1.5))
    assert t.position(250.0) == pytest.approx((300.0, 400.0, 1.5))
    assert t.position(350.0) == pytest.approx((300.0, 200.0, 1.5))
    assert t.position(450.0) == pytest.approx((300.0, 0.0, 1.5))
    assert t.position(1e7) == pytest.approx((300.0, 0.0, 1.5))


def expected_on_route(
    route: list[tuple[float, float]], speed: float, t: float
) -> tuple[float, float]:
    """Walk the route distance speed * t, leg by leg."""
    left = speed * t
    for a, b in itertools.pairwise(route):
        leg = math.dist(a, b)
        if left <= leg:
            f = left / leg if leg else 0.0
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        left -= leg
    return route[-1]


@given(
    points,
    st.lists(points, min_size=1, max_size=8),
    st.floats(0.1, 30.0),
    st.lists(times, min_size=2, max_size=12),
)
def test_waypoints_follow_distance_over_speed(
    start: tuple[float, float], wps: list[tuple[float, float]], speed: float, ts: list[float]
) -> None:
    t = track(Mobility(model="waypoints", speed_mps=speed, waypoints=tuple(wps)), start=start)
    for s in ts:
        assert t.position(s)[:2] == pytest.approx(
            expected_on_route([start, *wps], speed, s), abs=1e-6
        )
    assert_speed_bound(t, speed, ts)


# random waypoint -------------------------------------------------------------------


def sample_times(n: int = 400) -> list[float]:
    rng = random.Random(99)
    return [rng.uniform(0.0, DURATION * 1.2) for _ in range(n)]


@given(st.integers(0, 2**32), st.floats(0.5, 10.0), st.floats(0.0, 60.0))
def test_random_waypoint_stays_in_area_and_under_speed(
    seed: int, speed: float, pause: float
) -> None:
    t = track(
        Mobility(model="random_waypoint", speed_mps=speed, pause_s=pause),
        start=(1_000.0, 500.0),
        seed=seed,
    )
    ts = sample_times()
    for s in ts:
        x, y, z = t.position(s)
        assert 0.0 <= x <= 2_000.0 and 0.0 <= y <= 1_000.0 and z == 1.5
    assert_speed_bound(t, 1.5 * speed, ts)


def test_random_waypoint_is_deterministic_and_pure() -> None:
    spec = Mobility(model="random_waypoint", area=(-50.0, -50.0, 50.0, 50.0), pause_s=5.0)
    ts = sample_times()
    a, b, other = track(spec, seed=7), track(spec, seed=7), track(spec, seed=8)
    forward = [a.position(s) for s in ts]
    assert [b.position(s) for s in reversed(ts)] == forward[::-1]
    assert [a.position(s) for s in ts] == forward
    assert [other.position(s) for s in ts] != forward
    # Explicit area honoured (not the default one).
    assert all(abs(x) <= 50.0 and abs(y) <= 50.0 for x, y, _ in forward)


def test_random_waypoint_pauses_first_then_walks() -> None:
    t = track(Mobility(model="random_waypoint", pause_s=30.0), start=(5.0, 5.0))
    assert t.position(0.0)[:2] == t.position(30.0)[:2] == (5.0, 5.0)
    assert t.position(60.0)[:2] != (5.0, 5.0)


def test_random_waypoint_in_a_single_point_area_terminates() -> None:
    t = track(Mobility(model="random_waypoint", pause_s=0.0, area=(3.0, 4.0, 3.0, 4.0)))
    assert t.position(DURATION)[:2] == (3.0, 4.0)


# group -----------------------------------------------------------------------------


@given(st.integers(0, 2**32), st.floats(0.0, 500.0), points)
def test_group_members_stay_near_the_leader(
    seed: int, radius: float, start: tuple[float, float]
) -> None:
    leader = track(
        Mobility(model="random_waypoint", speed_mps=2.0), start=(500.0, 500.0), seed=seed
    )
    member = track(
        Mobility(model="group", radius_m=radius, pause_s=10.0),
        start=start,
        seed=seed + 1,
        leader=leader,
    )
    for s in sample_times(200):
        assert ground_dist(member.position(s), leader.position(s)) <= radius + 1e-6
        assert member.position(s)[2] == 1.5
    if ground_dist(start, (500.0, 500.0)) <= radius:
        assert member.position(0.0)[:2] == pytest.approx(start)


def test_group_member_moves_relative_to_the_leader() -> None:
    leader = track(Mobility(model="static"), start=(0.0, 0.0))
    member = track(Mobility(model="group", radius_m=100.0, pause_s=0.0), leader=leader)
    spots = {member.position(s)[:2] for s in sample_times(50)}
    assert len(spots) > 40


def test_group_without_leader_roams_the_area() -> None:
    t = track(Mobility(model="group"), start=(100.0, 100.0))
    for s in sample_times():
        x, y, _ = t.position(s)
        assert 0.0 <= x <= 2_000.0 and 0.0 <= y <= 1_000.0
    assert len({t.position(s) for s in sample_times(50)}) > 10


# orbit -----------------------------------------------------------------------------


@given(points, st.floats(10.0, 3_000.0), st.floats(5.0, 40.0), times)
def test_orbit_stays_on_the_circle(
    centre: tuple[float, float], radius: float, speed: float, s: float
) -> None:
    spec = Mobility(
        model="orbit", waypoints=(centre,), radius_m=radius, speed_mps=speed, altitude_m=400.0
    )
    t = track(spec)
    x, y, z = t.position(s)
    assert math.hypot(x - centre[0], y - centre[1]) == pytest.approx(radius, rel=1e-9)
    assert z == 400.0
    assert_speed_bound(t, speed, [s, s + 0.5, s + 7.0])


def test_orbit_angular_speed_and_direction() -> None:
    # 500 m at 25 m/s: a lap in 2*pi*500/25 = 125.66 s; starts due east (nearest to start).
    t = track(
        Mobility(
            model="orbit", waypoints=((0.0, 0.0),), radius_m=500.0, speed_mps=25.0, altitude_m=300.0
        ),
        start=(900.0, 0.0),
    )
    lap = 2 * math.pi * 500.0 / 25.0
    assert t.position(0.0) == pytest.approx((500.0, 0.0, 300.0))
    assert t.position(lap / 4) == pytest.approx((0.0, -500.0, 300.0), abs=1e-6)  # clockwise
    assert t.position(lap / 2) == pytest.approx((-500.0, 0.0, 300.0), abs=1e-6)
    assert t.position(7 * lap + 10.0) == pytest.approx(t.position(10.0), abs=1e-6)
    assert isinstance(t, Orbit) and t.period_s == pytest.approx(lap)


# sortie ----------------------------------------------------------------------------


def sortie(
    base: tuple[float, float],
    centre: tuple[float, float],
    radius: float,
    endurance: float | None,
    speed: float = 20.0,
    *,
    takeoff: float = 0.0,
) -> Sortie:
    spec = Mobility(
        model="sortie",
        waypoints=(centre,),
        radius_m=radius,
        speed_mps=speed,
        altitude_m=250.0,
        endurance_s=endurance,
        base=base,
        takeoff_s=takeoff,
    )
    t = track(spec, start=(99.0, 99.0))
    assert isinstance(t, Sortie)
    return t


def test_sortie_by_hand() -> None:
    # Base 5 km east of the centre, 1 km circle: 4 km out at 20 m/s = 200 s.
    s = sortie((5_000.0, 0.0), (0.0, 0.0), 1_000.0, 3_600.0)
    assert s.position(0.0) == (5_000.0, 0.0, 250.0)
    assert s.position(100.0) == pytest.approx((3_000.0, 0.0, 250.0))
    assert s.arrives_at == pytest.approx(200.0)
    assert s.position(200.0) == pytest.approx((1_000.0, 0.0, 250.0))
    home = math.dist(s.position(s.leaves_at)[:2], (5_000.0, 0.0))
    assert s.leaves_at + home / 20.0 == pytest.approx(s.lands_at) and s.lands_at == 3_600.0
    assert s.position(3_600.0) == (5_000.0, 0.0, 0.0)
    assert s.position(1e6) == (5_000.0, 0.0, 0.0)
    assert s.position(-1.0) == (5_000.0, 0.0, 0.0)


@given(points, points, st.floats(50.0, 3_000.0), st.floats(1.0, 10.0), st.floats(10.0, 40.0))
def test_sortie_timeline(
    base: tuple[float, float],
    centre: tuple[float, float],
    radius: float,
    spare: float,
    speed: float,
) -> None:
    out = abs(math.dist(base, centre) - radius) / speed
    endurance = 2 * out + spare * 60.0
    s = sortie(base, centre, radius, endurance, speed)
    assert s.position(0.0)[:2] == pytest.approx(base)
    assert s.arrives_at == pytest.approx(out, abs=1e-9)
    p = s.position(s.arrives_at)
    assert math.dist(p[:2], centre) == pytest.approx(radius, rel=1e-9)
    assert s.arrives_at <= s.leaves_at <= s.lands_at == endurance
    home = math.dist(s.position(s.leaves_at)[:2], base) / speed
    assert s.leaves_at + home == pytest.approx(s.lands_at, abs=1e-6)
    # It leaves as late as it can: a few seconds later it would land late.
    later = min(s.leaves_at + 5.0, endurance)
    assert later + math.dist(s.loiter.ground(later), base) / speed > endurance - 1e-6
    flight = [endurance * k / 97 for k in range(97)]
    assert all(s.position(t)[2] == 250.0 for t in flight)
    assert s.position(endurance) == (base[0], base[1], 0.0)
    assert_speed_bound(s, speed, [*flight, s.arrives_at, s.leaves_at, endurance, endurance + 9])


def test_a_relief_sortie_waits_on_the_ground_until_take_off() -> None:
    # The same flight as test_sortie_by_hand, 1,000 s later: endurance counts from take-off.
    s = sortie((5_000.0, 0.0), (0.0, 0.0), 1_000.0, 3_600.0, takeoff=1_000.0)
    on_time = sortie((5_000.0, 0.0), (0.0, 0.0), 1_000.0, 3_600.0)
    assert s.position(0.0) == s.position(999.9) == (5_000.0, 0.0, 0.0)
    assert s.position(1_000.0) == (5_000.0, 0.0, 250.0)
    assert s.position(1_100.0) == pytest.approx((3_000.0, 0.0, 250.0))
    assert s.arrives_at == pytest.approx(1_200.0)
    assert s.lands_at == 4_600.0
    assert s.leaves_at == pytest.approx(on_time.leaves_at + 1_000.0)
    assert s.position(4_600.0) == (5_000.0, 0.0, 0.0)


@given(
    points,
    points,
    st.tuples(st.floats(50.0, 3_000.0), st.floats(10.0, 40.0)),
    st.floats(1.0, 5_000.0),
    st.floats(0.0, 0.99),  # not the landing instant itself: rounding may put it either side
)
def test_take_off_shifts_the_whole_sortie(
    base: tuple[float, float],
    centre: tuple[float, float],
    circle: tuple[float, float],
    takeoff: float,
    when: float,
) -> None:
    radius, speed = circle
    out = abs(math.dist(base, centre) - radius) / speed
    endurance = 2 * out + 600.0
    late = sortie(base, centre, radius, endurance, speed, takeoff=takeoff)
    now = sortie(base, centre, radius, endurance, speed)
    assert late.position(takeoff * when * 0.999) == (base[0], base[1], 0.0)
    for a, b in ((late.arrives_at, now.arrives_at), (late.leaves_at, now.leaves_at),
                 (late.lands_at, now.lands_at)):  # fmt: skip
        assert a == pytest.approx(b + takeoff, abs=1e-6)
    t = endurance * when
    assert late.position(takeoff + t) == pytest.approx(now.position(t), abs=1e-6)


def test_sortie_without_endurance_never_leaves() -> None:
    s = sortie((0.0, 0.0), (3_000.0, 4_000.0), 500.0, None)
    assert s.leaves_at == s.lands_at == math.inf
    assert math.dist(s.position(1e6)[:2], (3_000.0, 4_000.0)) == pytest.approx(500.0)
    assert s.position(1e6)[2] == 250.0


def test_sortie_defaults_base_to_start() -> None:
    spec = Mobility(
        model="sortie",
        waypoints=((0.0, 2_000.0),),
        speed_mps=20.0,
        altitude_m=100.0,
        endurance_s=1_000.0,
    )
    t = track(spec, start=(0.0, -1_000.0))
    assert isinstance(t, Sortie)
    assert t.arrives_at == pytest.approx(2_700.0 / 20.0)  # 3 km less the 300 m radius
    assert t.position(5_000.0) == (0.0, -1_000.0, 0.0)


# validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (Mobility(model="waypoints", speed_mps=-1.0, waypoints=((1.0, 1.0),)), "speed_mps"),
        (Mobility(speed_mps=-0.1), "speed_mps"),
        (Mobility(model="random_waypoint", speed_mps=0.0), "speed_mps"),
        (Mobility(model="waypoints"), "waypoint"),
        (Mobility(model="orbit", radius_m=0.0, speed_mps=20.0), "radius_m"),
        (Mobility(model="orbit", radius_m=-5.0, speed_mps=20.0), "radius_m"),
        (
            Mobility(
                model="sortie", waypoints=((10_000.0, 0.0),), speed_mps=20.0, endurance_s=900.0
            ),
            "endurance",
        ),
        (Mobility(model="sortie", speed_mps=20.0, endurance_s=0.0), "endurance"),
        (Mobility(model="sortie", speed_mps=20.0, endurance_s=900.0, takeoff_s=-1.0), "takeoff"),
        (
            Mobility(model="sortie", speed_mps=20.0, endurance_s=900.0, takeoff_s=math.inf),
            "finite",
        ),
        (Mobility(model="random_waypoint", area=(10.0, 0.0, 0.0, 10.0)), "area"),
        (Mobility(model="random_waypoint", pause_s=-1.0), "pause_s"),
        (Mobility(model="group", radius_m=-1.0), "radius_m"),
        (Mobility(model="waypoints", waypoints=((math.nan, 0.0),)), "finite"),
    ],
)
def test_impossible_specs_are_refused(spec: Mobility, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        track(spec)


def test_too_short_endurance_names_the_needed_time() -> None:
    # 10 km less 300 m out at 20 m/s = 485 s each way; 970 s needed.
    spec = Mobility(model="sortie", waypoints=((10_000.0, 0.0),), speed_mps=20.0, endurance_s=969.0)
    with pytest.raises(ValueError, match="970 s"):
        track(spec)
    assert isinstance(track(dataclasses.replace(spec, endurance_s=970.0)), Sortie)
