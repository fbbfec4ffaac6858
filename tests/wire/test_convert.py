"""Compact <-> protobuf conversion (SPEC.md §6.4): lossless one way, rounded the other."""

from __future__ import annotations

from hypothesis import given
from strategies import positions, statuses, vitals

from tacmesh.protocol.compact import (
    PositionReport,
    StatusReport,
    VitalSigns,
)
from tacmesh.protocol.convert import (
    position_from_pb,
    position_to_pb,
    status_from_pb,
    status_to_pb,
    vitals_from_pb,
    vitals_to_pb,
)
from tacmesh.protocol.pb import messages_pb2 as pb

NOW = 1_790_000_000


@given(positions)
def test_position_survives_the_api_form(p: PositionReport) -> None:
    assert position_from_pb(position_to_pb(p, created_at=NOW), now=NOW) == p


@given(statuses)
def test_status_survives_the_api_form(s: StatusReport) -> None:
    assert status_from_pb(status_to_pb(s)) == s


@given(vitals)
def test_vitals_survive_the_api_form(v: VitalSigns) -> None:
    assert vitals_from_pb(vitals_to_pb(v)) == v


def test_fix_time_is_reconstructed_from_ages() -> None:
    p = PositionReport(lat_e5=0, lon_e5=0, fix_age_s=5)
    # a frame received at 1000 that spent 30 s in store-and-forward was created at 970
    assert position_to_pb(p, created_at=1000 - 30).fix_time == 965


def test_api_values_are_rounded_and_clamped() -> None:
    m = pb.Position(
        lat_e7=312345678, lon_e7=-1039876549, alt_m=99999, speed_cm_s=126, fix_time=NOW - 999
    )
    p = position_from_pb(m, now=NOW)
    assert (p.lat_e5, p.lon_e5) == (3123457, -10398765)
    assert p.alt_m == 63534 and p.speed_half_mps == 3 and p.fix_age_s == 254
    assert p.accuracy_m is None and p.heading_deg is None
    v = vitals_from_pb(pb.VitalSigns(skin_temp_centi_c=3612, spo2_pct=140))
    assert v.skin_temp_c == 36.0 and v.spo2_pct == 100
