"""Fixed binary layouts for the three hottest messages (SPEC.md §6.1).

Position, status and vital signs are sent every few seconds by every responder, so on a
narrowband link their size is the network's capacity. A fixed bit layout is 13 bytes for a
full position where the equivalent protobuf message is 21-27 bytes (measured by
``bench/wire_budget.py``), so these three use the layouts here on every bearer; the
protobuf messages of the same name (``pb/messages.proto``) are their form on the local API
and uplinks, and ``convert.py`` maps between the two.

Each field has an "unknown" value (all ones), exposed as ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, TypeVar

from tacmesh.protocol.bits import pack_bits, unpack_bits
from tacmesh.protocol.errors import FrameError, Reject

LAT_OFFSET = 9_000_000  # 1e-5 degree units
LON_OFFSET = 18_000_000
ALT_OFFSET_M = 2_000
_POSITION_WIDTHS = (25, 26, 16, 8, 9, 8, 8, 2, 2)
_STATUS_WIDTHS = (4, 7, 8, 5)
_VITALS_WIDTHS = (8, 7, 8, 6, 2, 1)
_T = TypeVar("_T")


class Datum(IntEnum):
    WGS84 = 0
    CGCS2000 = 1
    """China Geodetic Coordinate System 2000 (BeiDou receivers)."""
    PZ90 = 2
    OTHER = 3


class FixSource(IntEnum):
    GNSS = 0
    DEAD_RECKONING = 1
    MANUAL = 2
    BEACON = 3
    """Indoor or underground beacon/UWB positioning."""


class ResponderState(IntEnum):
    OK = 0
    INJURED = 1
    TRAPPED = 2
    EVACUATING = 3
    EVACUATED = 4
    WITHDRAWING = 5
    RESTING = 6
    EN_ROUTE = 7
    ON_SCENE = 8
    OFF_DUTY = 9


class Motion(IntEnum):
    MOVING = 0
    STILL = 1
    MAN_DOWN = 2
    """No motion for longer than the device's man-down delay."""
    FALL_DETECTED = 3


def _opt(value: int | None, unknown: int) -> int:
    return unknown if value is None else value


def _back(raw: int, unknown: int) -> int | None:
    return None if raw == unknown else raw


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) != size:
        reason = Reject.TRUNCATED if len(data) < size else Reject.OVERSIZED
        raise FrameError(reason, f"{what} is {size} bytes, got {len(data)}")


@dataclass(frozen=True, slots=True)
class PositionReport:
    """A position fix, quantised to the wire: 1e-5 degree (about 1.1 m), 1 m altitude."""

    lat_e5: int
    lon_e5: int
    alt_m: int | None = None
    accuracy_m: int | None = None
    heading_deg: int | None = None
    speed_half_mps: int | None = None
    """Ground speed in 0.5 m/s steps (0..254, so up to 127 m/s)."""
    fix_age_s: int | None = None
    """Seconds between the fix and the message's creation (0..254)."""
    datum: Datum = Datum.WGS84
    source: FixSource = FixSource.GNSS

    SIZE: ClassVar[int] = 13

    @classmethod
    def from_degrees(cls, lat: float, lon: float, **fields: object) -> PositionReport:
        return cls(lat_e5=round(lat * 1e5), lon_e5=round(lon * 1e5), **fields)  # type: ignore[arg-type]

    @property
    def lat(self) -> float:
        return self.lat_e5 / 1e5

    @property
    def lon(self) -> float:
        return self.lon_e5 / 1e5

    def encode(self) -> bytes:
        return pack_bits(
            [
                (self.lat_e5 + LAT_OFFSET, 25),
                (self.lon_e5 + LON_OFFSET, 26),
                (_opt(None if self.alt_m is None else self.alt_m + ALT_OFFSET_M, 0xFFFF), 16),
                (_opt(self.accuracy_m, 0xFF), 8),
                (_opt(self.heading_deg, 0x1FF), 9),
                (_opt(self.speed_half_mps, 0xFF), 8),
                (_opt(self.fix_age_s, 0xFF), 8),
                (int(self.datum), 2),
                (int(self.source), 2),
            ]
        )

    def __post_init__(self) -> None:
        _check_range("latitude", self.lat_e5, -LAT_OFFSET, LAT_OFFSET)
        _check_range("longitude", self.lon_e5, -LON_OFFSET, LON_OFFSET)
        _check_range("altitude", self.alt_m, -ALT_OFFSET_M, 0xFFFE - ALT_OFFSET_M)
        _check_range("accuracy", self.accuracy_m, 0, 254)
        _check_range("heading", self.heading_deg, 0, 359)
        _check_range("speed", self.speed_half_mps, 0, 254)
        _check_range("fix age", self.fix_age_s, 0, 254)

    @classmethod
    def decode(cls, data: bytes) -> PositionReport:
        _need(data, cls.SIZE, "position")
        lat, lon, alt, acc, hdg, spd, age, datum, src = unpack_bits(data, _POSITION_WIDTHS)
        return _build(
            cls,
            lat_e5=lat - LAT_OFFSET,
            lon_e5=lon - LON_OFFSET,
            alt_m=None if alt == 0xFFFF else alt - ALT_OFFSET_M,
            accuracy_m=_back(acc, 0xFF),
            heading_deg=_back(hdg, 0x1FF),
            speed_half_mps=_back(spd, 0xFF),
            fix_age_s=_back(age, 0xFF),
            datum=Datum(datum),
            source=FixSource(src),
        )


@dataclass(frozen=True, slots=True)
class StatusReport:
    state: ResponderState
    battery_pct: int | None = None
    air_remaining_min: int | None = None
    """Breathing-air supply left (SCBA), in minutes."""

    SIZE: ClassVar[int] = 3

    def __post_init__(self) -> None:
        _check_range("battery", self.battery_pct, 0, 100)
        _check_range("air remaining", self.air_remaining_min, 0, 254)

    def encode(self) -> bytes:
        return pack_bits(
            [
                (int(self.state), 4),
                (_opt(self.battery_pct, 0x7F), 7),
                (_opt(self.air_remaining_min, 0xFF), 8),
                (0, 5),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> StatusReport:
        _need(data, cls.SIZE, "status")
        state, battery, air, reserved = unpack_bits(data, _STATUS_WIDTHS)
        if reserved:
            raise FrameError(Reject.RESERVED_BITS, "status reserved bits")
        if state not in ResponderState._value2member_map_:
            raise FrameError(Reject.BAD_FIELD, f"responder state {state}")
        return _build(
            cls,
            state=ResponderState(state),
            battery_pct=_back(battery, 0x7F),
            air_remaining_min=_back(air, 0xFF),
        )


@dataclass(frozen=True, slots=True)
class VitalSigns:
    heart_rate_bpm: int | None = None
    spo2_pct: int | None = None
    skin_temp_c: float | None = None
    """Skin temperature in 0.25 °C steps, 0.0..63.5 °C."""
    respiration_rpm: int | None = None
    motion: Motion = Motion.MOVING
    alarm: bool = False
    """The wearable itself judged these readings alarming."""

    SIZE: ClassVar[int] = 4

    def __post_init__(self) -> None:
        _check_range("heart rate", self.heart_rate_bpm, 0, 254)
        _check_range("SpO2", self.spo2_pct, 0, 100)
        _check_range("respiration", self.respiration_rpm, 0, 62)
        if self.skin_temp_c is not None and (
            not 0.0 <= self.skin_temp_c <= 63.5 or (self.skin_temp_c * 4) % 1
        ):
            raise ValueError(f"skin temperature {self.skin_temp_c} is not a 0.25 step in 0..63.5")

    def encode(self) -> bytes:
        temp = None if self.skin_temp_c is None else int(self.skin_temp_c * 4)
        return pack_bits(
            [
                (_opt(self.heart_rate_bpm, 0xFF), 8),
                (_opt(self.spo2_pct, 0x7F), 7),
                (_opt(temp, 0xFF), 8),
                (_opt(self.respiration_rpm, 0x3F), 6),
                (int(self.motion), 2),
                (int(self.alarm), 1),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> VitalSigns:
        _need(data, cls.SIZE, "vital signs")
        hr, spo2, temp, resp, motion, alarm = unpack_bits(data, _VITALS_WIDTHS)
        return _build(
            cls,
            heart_rate_bpm=_back(hr, 0xFF),
            spo2_pct=_back(spo2, 0x7F),
            skin_temp_c=None if temp == 0xFF else temp / 4,
            respiration_rpm=_back(resp, 0x3F),
            motion=Motion(motion),
            alarm=bool(alarm),
        )


def _check_range(what: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{what} {value} is outside {low}..{high}")


def _build(cls: type[_T], **fields: object) -> _T:
    """Construct from decoded fields; an out-of-range wire value is a FrameError."""
    try:
        return cls(**fields)
    except ValueError as exc:
        raise FrameError(Reject.BAD_FIELD, str(exc)) from exc
