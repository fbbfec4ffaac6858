"""Compact wire forms <-> protobuf API forms of position, status, vitals (SPEC.md §6.4).

From compact to protobuf nothing is lost; from protobuf to compact values are rounded to
the wire's step and clamped to its range. Absolute fix times exist only on the API side:
the wire carries ages (SPEC.md §1.4), so converting needs the caller's ``now``.
"""

from __future__ import annotations

from tacmesh.protocol.compact import (
    Datum,
    FixSource,
    Motion,
    PositionReport,
    ResponderState,
    StatusReport,
    VitalSigns,
)
from tacmesh.protocol.pb import messages_pb2 as pb


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _get(msg: object, name: str) -> int | None:
    return getattr(msg, name) if msg.HasField(name) else None  # type: ignore[attr-defined]


def position_to_pb(p: PositionReport, *, created_at: int) -> pb.Position:
    """``created_at``: the message's creation time (receive time minus frame age)."""
    out = pb.Position(
        lat_e7=p.lat_e5 * 100,
        lon_e7=p.lon_e5 * 100,
        datum=pb.Datum.ValueType(p.datum),
        source=pb.FixSource.ValueType(p.source),
    )
    if p.alt_m is not None:
        out.alt_m = p.alt_m
    if p.accuracy_m is not None:
        out.accuracy_m = p.accuracy_m
    if p.heading_deg is not None:
        out.heading_deg = p.heading_deg
    if p.speed_half_mps is not None:
        out.speed_cm_s = p.speed_half_mps * 50
    if p.fix_age_s is not None:
        out.fix_time = created_at - p.fix_age_s
    return out


def position_from_pb(m: pb.Position, *, now: int) -> PositionReport:
    """``now``: the time the compact message is created (for the fix age)."""
    alt, acc, hdg = _get(m, "alt_m"), _get(m, "accuracy_m"), _get(m, "heading_deg")
    speed, fix_time = _get(m, "speed_cm_s"), _get(m, "fix_time")
    return PositionReport(
        lat_e5=_clamp(m.lat_e7 / 100, -9_000_000, 9_000_000),
        lon_e5=_clamp(m.lon_e7 / 100, -18_000_000, 18_000_000),
        alt_m=None if alt is None else _clamp(alt, -2000, 63534),
        accuracy_m=None if acc is None else _clamp(acc, 0, 254),
        heading_deg=None if hdg is None else hdg % 360,
        speed_half_mps=None if speed is None else _clamp(speed / 50, 0, 254),
        fix_age_s=None if fix_time is None else _clamp(now - fix_time, 0, 254),
        datum=Datum(m.datum) if m.datum in Datum._value2member_map_ else Datum.OTHER,
        source=FixSource(m.source) if m.source in FixSource._value2member_map_ else FixSource.GNSS,
    )


def status_to_pb(s: StatusReport) -> pb.Status:
    out = pb.Status(state=pb.ResponderState.ValueType(s.state))
    if s.battery_pct is not None:
        out.battery_pct = s.battery_pct
    if s.air_remaining_min is not None:
        out.air_remaining_min = s.air_remaining_min
    return out


def status_from_pb(m: pb.Status) -> StatusReport:
    battery, air = _get(m, "battery_pct"), _get(m, "air_remaining_min")
    return StatusReport(
        state=ResponderState(m.state),
        battery_pct=None if battery is None else _clamp(battery, 0, 100),
        air_remaining_min=None if air is None else _clamp(air, 0, 254),
    )


def vitals_to_pb(v: VitalSigns) -> pb.VitalSigns:
    out = pb.VitalSigns(motion=pb.Motion.ValueType(v.motion), alarm=v.alarm)
    if v.heart_rate_bpm is not None:
        out.heart_rate_bpm = v.heart_rate_bpm
    if v.spo2_pct is not None:
        out.spo2_pct = v.spo2_pct
    if v.skin_temp_c is not None:
        out.skin_temp_centi_c = round(v.skin_temp_c * 100)
    if v.respiration_rpm is not None:
        out.respiration_rpm = v.respiration_rpm
    return out


def vitals_from_pb(m: pb.VitalSigns) -> VitalSigns:
    hr, spo2 = _get(m, "heart_rate_bpm"), _get(m, "spo2_pct")
    temp, resp = _get(m, "skin_temp_centi_c"), _get(m, "respiration_rpm")
    return VitalSigns(
        heart_rate_bpm=None if hr is None else _clamp(hr, 0, 254),
        spo2_pct=None if spo2 is None else _clamp(spo2, 0, 100),
        skin_temp_c=None if temp is None else _clamp(temp / 25, 0, 254) / 4,
        respiration_rpm=None if resp is None else _clamp(resp, 0, 62),
        motion=Motion(m.motion),
        alarm=m.alarm,
    )
