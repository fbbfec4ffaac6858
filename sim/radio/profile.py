"""Radio profiles: one kind of radio as the simulator sees it (air time, reach, loss, delay).

A profile is plain frozen data checked once when built, so the world can call its methods
per frame without re-validating. Conventions: ``distance_m`` is the straight-line (3-D)
distance between the two antennas and altitudes are metres above ground;
``shadow_db`` is the pair's shadowing (``shadowing_db``), added to the path loss, so
positive is worse. Where the built-in values come from is in ``profiles.toml``; tables
(built-in or a scenario's) become profiles in ``catalog.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tacmesh.protocol.crypto.suite import TAG_LENGTHS
from tacmesh.protocol.engine.config import HEARD_EVERY_IP, HEARD_EVERY_NARROWBAND, InterfaceConfig
from tacmesh.sim.radio import lora
from tacmesh.sim.radio.budget import LinkBudget

KINDS = ("lora", "wifi", "lte", "air", "satellite")
MODELS = ("log_distance", "range", "air_to_ground")
NARROWBAND_KINDS = ("lora", "satellite")
"""Kinds whose channel is the bottleneck: the engine paces frames by air time on them."""
LORA_FIELDS = (
    "spreading_factor",
    "bandwidth_hz",
    "coding_rate",
    "preamble_symbols",
    "explicit_header",
    "crc",
    "low_data_rate_optimize",
)
"""The modem settings, used by kind lora only."""


class ProfileError(ValueError):
    """A radio table or profile is wrong; the message names the profile, field and fix."""


@dataclass(frozen=True, slots=True)
class RadioProfile:
    """One radio kind. Fields past ``frequency_hz`` matter only for some models or kinds.

    Models: ``log_distance`` (tx + gain - PL(d) - shadow against the sensitivity, through
    the ``fade_db`` soft edge); ``range`` (delivery by distance alone; power is nominal
    free space); ``air_to_ground`` (UAVs): nothing beyond the radio horizon
    4.12 km * (sqrt(h_a) + sqrt(h_b)); inside it max(free space, two-ray plane earth) plus
    the Al-Hourani et al. (2014) mean excess loss at the elevation angle, line of sight
    when both ends fly above the clutter. The plane-earth term is what makes a low UAV,
    and two ground nodes, short-ranged: the Al-Hourani excess alone reaches its NLoS value
    at every low elevation and would not tell 100 m from 1,000 m of altitude.

    The LTE profile is a ``range`` model around a cell: the world treats an LTE channel as
    one IP subnet through the core, so the distance it passes is the one between the two
    ends (each end to its cell is not modelled), and ``base_delay_s`` is the core's.
    """

    name: str
    kind: str
    bitrate_bps: float
    """Air rate; for kind lora derived from the modem settings (``lora.bitrate_bps``)."""
    mtu: int
    tag_len: int
    cost: int
    hello_interval_s: float
    dead_after_intervals: float
    duty_cycle: float
    custody_timeout_s: float
    shared: bool
    collisions: bool
    capture_db: float
    base_delay_s: float
    model: str
    tx_power_dbm: float
    antenna_gain_db: float
    """Sum of the gains of both antennas beyond what ``tx_power_dbm`` (EIRP) includes."""
    sensitivity_dbm: float
    frequency_hz: float
    # log_distance (shadowing_db and fade_db also serve air_to_ground)
    ref_distance_m: float = 1.0
    ref_loss_db: float = 0.0
    exponent: float = 2.0
    shadowing_db: float = 0.0
    """Sigma of the pair's log-normal shadowing."""
    fade_db: float = 0.0
    """Width of the soft edge: delivery falls linearly from 1 at margin +fade/2 to 0 at
    -fade/2 (fast fading and interference, averaged per frame)."""
    # range
    range_m: float = 0.0
    ramp_m: float = 0.0
    # air_to_ground: Al-Hourani et al. 2014 line-of-sight probability and excess losses
    los_a: float = 9.61
    los_b: float = 0.16
    eta_los_db: float = 1.0
    eta_nlos_db: float = 20.0
    # LoRa modem (kind lora)
    spreading_factor: int = 7
    bandwidth_hz: float = 125_000.0
    coding_rate: int = 1
    """1..4 meaning 4/5..4/8."""
    preamble_symbols: int = 8
    explicit_header: bool = True
    crc: bool = True
    low_data_rate_optimize: str | bool = "auto"
    """``"auto"``: on when a symbol lasts more than 16 ms (``lora.ldro_required``)."""
    per_byte_cost: float = 0.0
    """Money or scarcity per byte (satellite); reported only, never changes delivery."""
    airtime_burst_s: float = 1.0
    access_jitter_s: float = 0.0
    """Random access delay before sending from an idle queue (channels with collisions)."""
    frame_overhead_s: float = 0.0
    """Per-frame air time besides the bytes on kinds other than lora (MAC, preamble)."""
    point_to_multipoint: bool = False
    """Relays (UAVs, ground backbone masts) are hubs and every other node is a terminal
    whose directional antenna is aimed at a hub: two terminals never hear each other,
    however close (``HUB_ROLES`` in ``sim/medium.py``). ``antenna_gain_db`` is the gain of
    a hub and a terminal aimed at it."""
    budget: LinkBudget = field(init=False, repr=False, compare=False)
    """The link formulas, with the fields they need (``budget.py``, compiled): made from
    the fields above, never given."""

    def __post_init__(self) -> None:
        _check_values(self)
        budget = LinkBudget(
            self.model,
            self.tx_power_dbm,
            self.antenna_gain_db,
            self.sensitivity_dbm,
            self.frequency_hz,
            self.base_delay_s,
            (self.ref_distance_m, self.ref_loss_db, self.exponent),
            self.shadowing_db,
            self.fade_db,
            (self.range_m, self.ramp_m),
            (self.los_a, self.los_b, self.eta_los_db, self.eta_nlos_db),
        )
        object.__setattr__(self, "budget", budget)  # frozen: set once, here

    @property
    def ldro(self) -> bool:
        if self.low_data_rate_optimize == "auto":
            return lora.ldro_required(self.spreading_factor, self.bandwidth_hz)
        return bool(self.low_data_rate_optimize)

    def airtime_s(self, nbytes: int) -> float:
        """Time one frame of ``nbytes`` occupies the channel."""
        if self.kind == "lora":
            return lora.airtime_s(
                self.spreading_factor,
                self.bandwidth_hz,
                self.coding_rate,
                self.preamble_symbols,
                nbytes,
                explicit_header=self.explicit_header,
                crc=self.crc,
                ldro=self.ldro,
            )
        return self.frame_overhead_s + nbytes * 8 / self.bitrate_bps

    def path_loss_db(self, distance_m: float, alt_a_m: float, alt_b_m: float) -> float:
        """Median loss (no shadowing); inf beyond the radio horizon of ``air_to_ground``."""
        return self.budget.path_loss_db(distance_m, alt_a_m, alt_b_m)

    def rx_power_dbm(
        self, distance_m: float, alt_a_m: float, alt_b_m: float, shadow_db: float
    ) -> float:
        return self.power_at(self.path_loss_db(distance_m, alt_a_m, alt_b_m), shadow_db)

    def delivery_probability(
        self, distance_m: float, alt_a_m: float, alt_b_m: float, shadow_db: float
    ) -> float:
        """Chance that one frame is received (0..1), before collisions."""
        return self.delivery_at(
            distance_m, self.path_loss_db(distance_m, alt_a_m, alt_b_m), shadow_db
        )

    def in_range(self, distance_m: float, alt_a_m: float, alt_b_m: float) -> bool:
        """False only where delivery is 0 even under the most favourable shadowing that
        ``shadowing_db`` can return (-3 sigma: its draws are truncated there)."""
        return self.reachable(distance_m, self.path_loss_db(distance_m, alt_a_m, alt_b_m))

    # The same, given the median path loss (what the medium's link refresh asks, of the
    # budget itself).

    def power_at(self, loss_db: float, shadow_db: float) -> float:
        """Received power (dBm) for a median path loss and the pair's shadowing."""
        return self.budget.power_at(loss_db, shadow_db)

    def delivery_at(self, distance_m: float, loss_db: float, shadow_db: float) -> float:
        return self.budget.delivery_at(distance_m, loss_db, shadow_db)

    def reachable(self, distance_m: float, loss_db: float) -> bool:
        return self.budget.reachable(distance_m, loss_db)

    def reach_m(
        self, alt_a_m: float, alt_b_m: float, probability: float = 0.5, shadow_db: float = 0.0
    ) -> float:
        """Largest distance at which delivery is at least ``probability`` (bisection on the
        monotone delivery curve, to 1 m). The world's pruning radius is
        ``reach_m(a, b, 1e-9, -3 * shadowing_db)``."""

        def ok(d: float) -> bool:
            return self.delivery_probability(d, alt_a_m, alt_b_m, shadow_db) >= probability

        if not ok(0.0):
            return 0.0
        high = 1000.0
        while ok(high) and high < 1e12:
            high *= 2
        low = high / 2 if high > 1000.0 else 0.0
        while high - low > 1.0:
            mid = (low + high) / 2
            low, high = (mid, high) if ok(mid) else (low, mid)
        return low

    def propagation_delay_s(self, distance_m: float) -> float:
        return self.budget.propagation_delay_s(distance_m)

    def interface_config(self, name: str) -> InterfaceConfig:
        """The engine's view of this radio on an interface called ``name``.

        Only narrowband kinds (lora, satellite) get a ``bitrate_bps``: the engine paces
        frames by air time there and nowhere else. For LoRa, ``preamble_s`` is
        ``lora.overhead_s``: the preamble and header plus the formula's fixed symbols and
        half a coding block of rounding, so that ``preamble_s + 8*bytes/bitrate_bps``
        is within 5 % of :meth:`airtime_s` for 30..60-byte frames and 6 % for 20..222
        bytes, at any spreading factor (the rounding to whole blocks is the residue).
        """
        narrow = self.kind in NARROWBAND_KINDS
        if self.kind == "lora":
            preamble_s = lora.overhead_s(
                self.spreading_factor,
                self.bandwidth_hz,
                self.coding_rate,
                self.preamble_symbols,
                explicit_header=self.explicit_header,
                crc=self.crc,
                ldro=self.ldro,
            )
        else:
            preamble_s = self.frame_overhead_s if narrow else 0.0
        return InterfaceConfig(
            name=name,
            tag_len=self.tag_len,
            mtu=self.mtu,
            cost=self.cost,
            hello_interval_s=self.hello_interval_s,
            dead_after_intervals=self.dead_after_intervals,
            heard_every=HEARD_EVERY_NARROWBAND if narrow else HEARD_EVERY_IP,
            bitrate_bps=self.bitrate_bps if narrow else None,
            duty_cycle=self.duty_cycle,
            airtime_burst_s=self.airtime_burst_s,
            access_jitter_s=self.access_jitter_s,
            preamble_s=preamble_s,
            custody_timeout_s=self.custody_timeout_s,
        )


# -- checks --------------------------------------------------------------------------------


def _require(name: str, field: str, value: object, ok: bool, must: str) -> None:
    if not ok:
        raise ProfileError(f'radio "{name}": field "{field}" must be {must}, got {value!r}')


def check_modem(name: str, modem: Mapping[str, Any]) -> None:
    """The LoRa settings (``LORA_FIELDS``) the formula needs, checked before anything is
    derived from them."""
    sf, bw, cr = modem["spreading_factor"], modem["bandwidth_hz"], modem["coding_rate"]
    header, ldro = modem["explicit_header"], modem["low_data_rate_optimize"]
    _require(name, "spreading_factor", sf, 6 <= sf <= 12, "6..12")
    _require(name, "bandwidth_hz", bw, bw > 0, "positive (125000, 250000 or 500000)")
    _require(name, "coding_rate", cr, 1 <= cr <= 4, "1..4 (meaning 4/5..4/8)")
    preamble = modem["preamble_symbols"]
    _require(name, "preamble_symbols", preamble, preamble >= 6, "at least 6")
    _require(name, "explicit_header", header, sf > 6 or not header, "false at SF6")
    ldro_ok = ldro == "auto" or isinstance(ldro, bool)
    _require(name, "low_data_rate_optimize", ldro, ldro_ok, '"auto", true or false')


def _check_values(p: RadioProfile) -> None:
    rules = (
        ("kind", p.kind in KINDS, "one of " + ", ".join(KINDS)),
        ("model", p.model in MODELS, "one of " + ", ".join(MODELS)),
        ("bitrate_bps", p.bitrate_bps > 0, "positive"),
        ("mtu", p.mtu > 0, "positive"),
        ("tag_len", p.tag_len in TAG_LENGTHS, "one of " + ", ".join(map(str, TAG_LENGTHS))),
        ("cost", p.cost > 0, "positive"),
        ("hello_interval_s", p.hello_interval_s > 0, "positive"),
        ("dead_after_intervals", p.dead_after_intervals > 1, "more than 1"),
        ("duty_cycle", 0 < p.duty_cycle <= 1, "in (0, 1]"),
        ("custody_timeout_s", p.custody_timeout_s > 0, "positive"),
        ("capture_db", p.capture_db >= 0, "0 or more"),
        ("base_delay_s", p.base_delay_s >= 0, "0 or more"),
        ("frequency_hz", p.frequency_hz > 0, "positive"),
        ("ref_distance_m", p.ref_distance_m > 0, "positive"),
        ("exponent", p.exponent > 0, "positive"),
        ("shadowing_db", p.shadowing_db >= 0, "0 or more"),
        ("fade_db", p.fade_db >= 0, "0 or more"),
        ("range_m", p.model != "range" or p.range_m > 0, "positive for model range"),
        ("ramp_m", 0 <= p.ramp_m <= max(p.range_m, 0.0), "between 0 and range_m"),
        ("per_byte_cost", p.per_byte_cost >= 0, "0 or more"),
        ("airtime_burst_s", p.airtime_burst_s > 0, "positive"),
        ("access_jitter_s", p.access_jitter_s >= 0, "zero or positive"),
        ("frame_overhead_s", p.frame_overhead_s >= 0, "0 or more"),
    )
    for name, ok, must in rules:
        _require(p.name, name, getattr(p, name), ok, must)
    if p.kind == "lora":
        check_modem(p.name, {f: getattr(p, f) for f in LORA_FIELDS})
        rate = lora.bitrate_bps(p.spreading_factor, p.bandwidth_hz, p.coding_rate, p.ldro)
        ok = math.isclose(p.bitrate_bps, rate)
        _require(p.name, "bitrate_bps", p.bitrate_bps, ok, f"the modem's rate {rate:.6g}")
