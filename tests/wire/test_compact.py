"""Compact layouts (SPEC.md §6.1): round trips over the full ranges, and the exact bit layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import positions, statuses, vitals

from tacmesh.protocol.bits import pack_bits, unpack_bits
from tacmesh.protocol.compact import (
    Datum,
    FixSource,
    Motion,
    PositionReport,
    ResponderState,
    StatusReport,
    VitalSigns,
)
from tacmesh.protocol.errors import FrameError, Reject


def bit_string(fields: list[tuple[int, int]]) -> bytes:
    """An independent packer (via text), to pin field order and widths."""
    bits = "".join(format(value, f"0{width}b") for value, width in fields)
    assert len(bits) % 8 == 0
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def unknown(value: int | None, all_ones: int) -> int:
    return all_ones if value is None else value


@given(positions)
def test_position_round_trip(report: PositionReport) -> None:
    data = report.encode()
    assert len(data) == PositionReport.SIZE == 13
    assert PositionReport.decode(data) == report


@given(statuses)
def test_status_round_trip(report: StatusReport) -> None:
    data = report.encode()
    assert len(data) == StatusReport.SIZE == 3
    assert StatusReport.decode(data) == report


@given(vitals)
def test_vitals_round_trip(report: VitalSigns) -> None:
    data = report.encode()
    assert len(data) == VitalSigns.SIZE == 4
    assert VitalSigns.decode(data) == report


@given(positions)
def test_position_layout(r: PositionReport) -> None:
    alt = None if r.alt_m is None else r.alt_m + 2_000
    assert r.encode() == bit_string(
        [
            (r.lat_e5 + 9_000_000, 25),
            (r.lon_e5 + 18_000_000, 26),
            (unknown(alt, 0xFFFF), 16),
            (unknown(r.accuracy_m, 0xFF), 8),
            (unknown(r.heading_deg, 0x1FF), 9),
            (unknown(r.speed_half_mps, 0xFF), 8),
            (unknown(r.fix_age_s, 0xFF), 8),
            (r.datum, 2),
            (r.source, 2),
        ]
    )


@given(statuses)
def test_status_layout(r: StatusReport) -> None:
    assert r.encode() == bit_string(
        [
            (r.state, 4),
            (unknown(r.battery_pct, 0x7F), 7),
            (unknown(r.air_remaining_min, 0xFF), 8),
            (0, 5),
        ]
    )


@given(vitals)
def test_vitals_layout(r: VitalSigns) -> None:
    temp = None if r.skin_temp_c is None else round(r.skin_temp_c * 4)
    assert r.encode() == bit_string(
        [
            (unknown(r.heart_rate_bpm, 0xFF), 8),
            (unknown(r.spo2_pct, 0x7F), 7),
            (unknown(temp, 0xFF), 8),
            (unknown(r.respiration_rpm, 0x3F), 6),
            (r.motion, 2),
            (int(r.alarm), 1),
        ]
    )


def test_all_unknown_values_decode_to_none() -> None:
    ones = [(0xFFFF, 16), (0xFF, 8), (0x1FF, 9), (0xFF, 8), (0xFF, 8), (3, 2), (3, 2)]
    p = PositionReport.decode(bit_string([(9_000_000, 25), (18_000_000, 26), *ones]))
    assert p == PositionReport(0, 0, datum=Datum.OTHER, source=FixSource.BEACON)
    assert StatusReport.decode(bytes([0x0F, 0xFF, 0xE0])) == StatusReport(ResponderState.OK)
    v = VitalSigns.decode(b"\xff\xff\xff\xf8")
    assert v == VitalSigns(motion=Motion.MOVING)


def test_from_degrees_quantises_to_1e5() -> None:
    p = PositionReport.from_degrees(31.2345, -103.98765, alt_m=-12)
    assert (p.lat_e5, p.lon_e5, p.alt_m) == (3_123_450, -10_398_765, -12)
    assert (p.lat, p.lon) == (31.2345, -103.98765)


@pytest.mark.parametrize(
    "fields",
    [
        {"lat_e5": 9_000_001},
        {"lat_e5": -9_000_001},
        {"lon_e5": 18_000_001},
        {"alt_m": -2_001},
        {"alt_m": 63_535},
        {"accuracy_m": 255},
        {"heading_deg": 360},
        {"speed_half_mps": 255},
        {"fix_age_s": -1},
    ],
)
def test_position_rejects_out_of_range_values(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PositionReport(**{"lat_e5": 0, "lon_e5": 0, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"heart_rate_bpm": 255},
        {"spo2_pct": 101},
        {"respiration_rpm": 63},
        {"skin_temp_c": 63.75},
        {"skin_temp_c": -0.25},
        {"skin_temp_c": 36.1},
    ],
)
def test_vitals_rejects_out_of_range_values(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        VitalSigns(**fields)  # type: ignore[arg-type]


def test_status_rejects_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        StatusReport(ResponderState.OK, battery_pct=101)
    with pytest.raises(ValueError):
        StatusReport(ResponderState.OK, air_remaining_min=255)


def replace_bits(data: bytes, widths: tuple[int, ...], index: int, value: int) -> bytes:
    fields = unpack_bits(data, widths)
    fields[index] = value
    return pack_bits(list(zip(fields, widths, strict=True)))


POSITION_WIDTHS = (25, 26, 16, 8, 9, 8, 8, 2, 2)
VITALS_WIDTHS = (8, 7, 8, 6, 2, 1)
STATUS_WIDTHS = (4, 7, 8, 5)


@pytest.mark.parametrize(
    ("index", "value"),
    [(0, 18_000_001), (0, 2**25 - 1), (1, 36_000_001), (4, 360), (4, 0x1FE)],
)
def test_position_decoder_rejects_out_of_range_fields(index: int, value: int) -> None:
    data = replace_bits(PositionReport(0, 0).encode(), POSITION_WIDTHS, index, value)
    with pytest.raises(FrameError) as err:
        PositionReport.decode(data)
    assert err.value.reason is Reject.BAD_FIELD


@pytest.mark.parametrize(("index", "value"), [(1, 101), (1, 0x7E)])
def test_vitals_decoder_rejects_out_of_range_fields(index: int, value: int) -> None:
    data = replace_bits(VitalSigns().encode(), VITALS_WIDTHS, index, value)
    with pytest.raises(FrameError) as err:
        VitalSigns.decode(data)
    assert err.value.reason is Reject.BAD_FIELD


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [
        (0, 10, Reject.BAD_FIELD),
        (0, 15, Reject.BAD_FIELD),
        (1, 101, Reject.BAD_FIELD),
        (3, 1, Reject.RESERVED_BITS),
        (3, 0x10, Reject.RESERVED_BITS),
    ],
)
def test_status_decoder_rejects_reserved_and_unknown(
    index: int, value: int, reason: Reject
) -> None:
    data = replace_bits(StatusReport(ResponderState.OK).encode(), STATUS_WIDTHS, index, value)
    with pytest.raises(FrameError) as err:
        StatusReport.decode(data)
    assert err.value.reason is reason


@pytest.mark.parametrize("cls", [PositionReport, StatusReport, VitalSigns])
def test_wrong_length_is_truncated_or_oversized(
    cls: type[PositionReport] | type[StatusReport] | type[VitalSigns],
) -> None:
    for size in range(cls.SIZE + 3):
        if size == cls.SIZE:
            continue
        with pytest.raises(FrameError) as err:
            cls.decode(b"\x00" * size)
        expected = Reject.TRUNCATED if size < cls.SIZE else Reject.OVERSIZED
        assert err.value.reason is expected, size


def test_pack_bits_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        pack_bits([(8, 3), (0, 5)])
    with pytest.raises(ValueError):
        pack_bits([(1, 3)])
