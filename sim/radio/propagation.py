"""Path loss models and per-pair shadowing: the physics below a radio profile.

Rules kept here: losses are in dB and grow with distance (never shrink), so delivery
probability is monotone in distance; ``distance_m`` is the straight-line distance between
the two antennas (the world's 3-D distance) and heights are metres above ground; nothing
here draws randomness from anything but its arguments, so the same scenario gives the
same links on every machine.
"""

from __future__ import annotations

import hashlib
import math
import random

SPEED_OF_LIGHT_MPS = 299_792_458.0

HORIZON_KM_PER_SQRT_M = 4.12
"""Radio horizon d = 4.12 km * (sqrt(h1) + sqrt(h2)), heights in metres: a 4/3 earth
radius (standard atmospheric refraction)."""

MIN_ANTENNA_HEIGHT_M = 1.5
"""Antennas are never lower than a handheld at chest height: a node reported at 0 m
would otherwise have an infinite plane-earth loss."""

CLUTTER_HEIGHT_M = 30.0
"""Above this both ends clear buildings and trees: the elevation-angle excess loss of the
air-to-ground model is that of line of sight (UAV to UAV)."""

SHADOWING_TRUNCATION = 3.0
"""Shadowing draws are truncated at this many sigma, so that a bound computed at -3 sigma
(``RadioProfile.in_range``) holds for every pair."""


def free_space_loss_db(distance_m: float, frequency_hz: float) -> float:
    """Friis: 20*log10(4*pi*d/lambda), distance clamped to 1 m (near field)."""
    wavelength = SPEED_OF_LIGHT_MPS / frequency_hz
    return 20 * math.log10(4 * math.pi * max(distance_m, 1.0) / wavelength)


def log_distance_loss_db(
    distance_m: float, ref_distance_m: float, ref_loss_db: float, exponent: float
) -> float:
    """PL(d) = PL(d0) + 10*n*log10(d/d0); no gain closer than the reference distance."""
    ratio = max(distance_m, ref_distance_m) / ref_distance_m
    return ref_loss_db + 10 * exponent * math.log10(ratio)


def ground_m(distance_m: float, alt_a_m: float, alt_b_m: float) -> float:
    """Horizontal distance behind a straight-line one (0 if the line is shorter than the
    height difference, which only inconsistent inputs give)."""
    rise = alt_a_m - alt_b_m
    return math.sqrt(max(distance_m * distance_m - rise * rise, 0.0))


def antenna_height_m(alt_m: float) -> float:
    return max(alt_m, MIN_ANTENNA_HEIGHT_M)


def radio_horizon_m(alt_a_m: float, alt_b_m: float) -> float:
    """Farthest distance at which the two antennas see each other over the bulge."""
    root_sum = math.sqrt(antenna_height_m(alt_a_m)) + math.sqrt(antenna_height_m(alt_b_m))
    return HORIZON_KM_PER_SQRT_M * 1000.0 * root_sum


def elevation_deg(distance_m: float, alt_a_m: float, alt_b_m: float) -> float:
    """Angle above the horizontal at which the lower end sees the higher one."""
    ground = ground_m(distance_m, alt_a_m, alt_b_m)
    return math.degrees(math.atan2(abs(alt_a_m - alt_b_m), ground))


def los_probability(elevation: float, a: float, b: float) -> float:
    """Al-Hourani et al. 2014: P_LoS = 1 / (1 + a*exp(-b*(theta - a))), theta in degrees."""
    return 1.0 / (1.0 + a * math.exp(-b * (elevation - a)))


def excess_loss_db(
    elevation: float, a: float, b: float, eta_los_db: float, eta_nlos_db: float
) -> float:
    """Mean excess loss over free space by elevation (Al-Hourani et al. 2014)."""
    p_los = los_probability(elevation, a, b)
    return p_los * eta_los_db + (1.0 - p_los) * eta_nlos_db


def plane_earth_loss_db(distance_m: float, alt_a_m: float, alt_b_m: float) -> float:
    """Two-ray ground reflection far field: 40*log10(d) - 20*log10(h_a*h_b).

    It meets free space at d = 4*pi*h_a*h_b/lambda; beyond that the direct and reflected
    rays cancel and loss grows 40 dB/decade. This is what makes low antennas short-ranged.
    """
    heights = antenna_height_m(alt_a_m) * antenna_height_m(alt_b_m)
    return 40 * math.log10(max(distance_m, 1.0)) - 20 * math.log10(heights)


def air_to_ground_loss_db(
    distance_m: float,
    alt_a_m: float,
    alt_b_m: float,
    frequency_hz: float,
    los: tuple[float, float, float, float],
) -> float:
    """Median loss of the ``air_to_ground`` model inside the radio horizon.

    max(free space, plane earth) over the straight-line distance, plus the Al-Hourani
    excess at the elevation angle (``los`` = a, b, eta_LoS, eta_NLoS); line-of-sight
    excess when both ends are above the clutter.
    """
    slant = max(distance_m, abs(alt_a_m - alt_b_m))
    spread = max(
        free_space_loss_db(slant, frequency_hz), plane_earth_loss_db(slant, alt_a_m, alt_b_m)
    )
    a, b, eta_los_db, eta_nlos_db = los
    if min(alt_a_m, alt_b_m) >= CLUTTER_HEIGHT_M:
        return spread + eta_los_db
    theta = elevation_deg(distance_m, alt_a_m, alt_b_m)
    return spread + excess_loss_db(theta, a, b, eta_los_db, eta_nlos_db)


def soft_edge(margin_db: float, fade_db: float) -> float:
    """Frame delivery probability from the link margin: linear from 1 at +fade/2 to 0 at
    -fade/2 (a hard threshold at 0 dB when fade is 0). Linear rather than logistic so
    that it reaches exactly 0, which keeps pruning by ``in_range`` exact."""
    if fade_db <= 0.0:
        return 1.0 if margin_db >= 0.0 else 0.0
    return min(1.0, max(0.0, 0.5 + margin_db / fade_db))


def range_ramp(distance_m: float, range_m: float, ramp_m: float) -> float:
    """1 up to ``range_m - ramp_m``, falling linearly to 0 at ``range_m``."""
    if distance_m >= range_m:
        return 0.0 if ramp_m > 0.0 or distance_m > range_m else 1.0
    return min(1.0, (range_m - distance_m) / ramp_m) if ramp_m > 0.0 else 1.0


def propagation_delay_s(distance_m: float) -> float:
    return distance_m / SPEED_OF_LIGHT_MPS


def shadowing_db(seed: int, a: int, b: int, sigma_db: float) -> float:
    """Log-normal shadowing of the pair (a, b): a N(0, sigma) draw in dB, truncated at
    +-3 sigma, fixed by (seed, unordered pair).

    The pair's terrain is the same both ways, so the draw is symmetric. blake2b of the
    decimal text of the three integers seeds ``random.Random`` (not ``hash()``, which is
    salted per process), so every machine and run gets the same value. The value does
    not depend on the band: one pair is shadowed alike on all its radios, scaled by each
    profile's sigma, as the same walls stand between them.
    """
    if sigma_db <= 0.0:
        return 0.0
    low, high = min(a, b), max(a, b)
    digest = hashlib.blake2b(f"{seed}:{low}:{high}".encode(), digest_size=8).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    while True:
        z = rng.gauss(0.0, 1.0)
        if abs(z) <= SHADOWING_TRUNCATION:
            return z * sigma_db
