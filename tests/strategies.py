"""Hypothesis strategies shared by the wire tests: every legal value of each compact body."""

from __future__ import annotations

from hypothesis import strategies as st

from tacmesh.protocol.compact import (
    Datum,
    FixSource,
    Motion,
    PositionReport,
    ResponderState,
    StatusReport,
    VitalSigns,
)


def opt(low: int, high: int) -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(low, high)


positions = st.builds(
    PositionReport,
    lat_e5=st.integers(-9_000_000, 9_000_000),
    lon_e5=st.integers(-18_000_000, 18_000_000),
    alt_m=opt(-2_000, 63_534),
    accuracy_m=opt(0, 254),
    heading_deg=opt(0, 359),
    speed_half_mps=opt(0, 254),
    fix_age_s=opt(0, 254),
    datum=st.sampled_from(Datum),
    source=st.sampled_from(FixSource),
)
statuses = st.builds(
    StatusReport,
    state=st.sampled_from(ResponderState),
    battery_pct=opt(0, 100),
    air_remaining_min=opt(0, 254),
)
vitals = st.builds(
    VitalSigns,
    heart_rate_bpm=opt(0, 254),
    spo2_pct=opt(0, 100),
    skin_temp_c=st.none() | st.integers(0, 254).map(lambda q: q / 4),
    respiration_rpm=opt(0, 62),
    motion=st.sampled_from(Motion),
    alarm=st.booleans(),
)
