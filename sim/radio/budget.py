"""The link budget of one radio profile: path loss, received power, delivery and delay.

These are the formulas the medium works out for every pair of radios in range at every
link refresh (every few seconds, thousands of pairs in the 1,000-node operation), so they
live in a small class of their own that setup.py compiles. ``RadioProfile``, which holds
the rest of a profile and cannot be compiled (its catalog reads its annotations), makes
one and asks it. Conventions are ``profile.py``'s: distances in metres between the
antennas, altitudes above ground, ``shadow_db`` positive is worse.
"""

from __future__ import annotations

import math

from tacmesh.sim.radio import propagation


class LinkBudget:
    """The part of a ``RadioProfile`` that decides one pair's link; see its fields."""

    def __init__(  # noqa: PLR0917 - the profile's fields, passed once per profile
        self,
        model: str,
        tx_power_dbm: float,
        antenna_gain_db: float,
        sensitivity_dbm: float,
        frequency_hz: float,
        base_delay_s: float,
        log_distance: tuple[float, float, float],
        shadowing_db: float,
        fade_db: float,
        range_ramp: tuple[float, float],
        los: tuple[float, float, float, float],
    ) -> None:
        self._given: tuple[object, ...] = (model, tx_power_dbm, antenna_gain_db,
            sensitivity_dbm, frequency_hz, base_delay_s, log_distance, shadowing_db, fade_db,
            range_ramp, los)  # fmt: skip
        """The arguments, as given: what ``__reduce__`` hands back."""
        self.model = model
        self.tx_power_dbm = tx_power_dbm
        self.antenna_gain_db = antenna_gain_db
        self.sensitivity_dbm = sensitivity_dbm
        self.frequency_hz = frequency_hz
        self.base_delay_s = base_delay_s
        self.ref_distance_m, self.ref_loss_db, self.exponent = log_distance
        """``log_distance``: reference distance, loss there, exponent."""
        self.shadowing_db = shadowing_db
        self.fade_db = fade_db
        self.range_m, self.ramp_m = range_ramp
        """``range``: full delivery to ``range_m - ramp_m``, none from ``range_m``."""
        self.los = los
        """``air_to_ground``: Al-Hourani a, b, eta LoS, eta NLoS."""

    def __reduce__(self) -> tuple[type[LinkBudget], tuple[object, ...]]:
        """Pickled by its arguments: compiled, it has no default reconstruction, and
        profiles travel to a sweep's worker processes."""
        return LinkBudget, self._given

    def path_loss_db(self, distance_m: float, alt_a_m: float, alt_b_m: float) -> float:
        """Median loss (no shadowing); inf beyond the radio horizon of ``air_to_ground``."""
        if self.model == "log_distance":
            return propagation.log_distance_loss_db(
                distance_m, self.ref_distance_m, self.ref_loss_db, self.exponent
            )
        if self.model == "air_to_ground":
            ground = propagation.ground_m(distance_m, alt_a_m, alt_b_m)
            if ground > propagation.radio_horizon_m(alt_a_m, alt_b_m):
                return math.inf
            return propagation.air_to_ground_loss_db(
                distance_m, alt_a_m, alt_b_m, self.frequency_hz, self.los
            )
        # range: nominal free-space power only (delivery goes by distance)
        return propagation.free_space_loss_db(distance_m, self.frequency_hz)

    # Given the median path loss: the link refresh asks all three of every pair in range,
    # and the loss is most of their cost.

    def power_at(self, loss_db: float, shadow_db: float) -> float:
        """Received power (dBm) for a median path loss and the pair's shadowing."""
        return self.tx_power_dbm + self.antenna_gain_db - (loss_db + shadow_db)

    def delivery_at(self, distance_m: float, loss_db: float, shadow_db: float) -> float:
        """Chance that one frame is received (0..1), before collisions."""
        if self.model == "range":
            return propagation.range_ramp(distance_m, self.range_m, self.ramp_m)
        margin = self.power_at(loss_db, shadow_db) - self.sensitivity_dbm
        return propagation.soft_edge(margin, self.fade_db)

    def reachable(self, distance_m: float, loss_db: float) -> bool:
        """False only where delivery is 0 even under the most favourable shadowing that
        ``shadowing_db`` can return (-3 sigma: its draws are truncated there)."""
        best = -propagation.SHADOWING_TRUNCATION * self.shadowing_db
        return self.delivery_at(distance_m, loss_db, best) > 0.0

    def propagation_delay_s(self, distance_m: float) -> float:
        return propagation.propagation_delay_s(distance_m) + self.base_delay_s
