"""On-air sizes of the hot messages as complete authenticated frames (SPEC.md §6.1, §7.4).

Pure: builds real frames with the conformance-vector mission and measures them. Used by
``bench/wire_budget.py`` and ``tacmesh protocol budget``.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message as PbMessage

from tacmesh.protocol.compact import (
    Datum,
    Motion,
    PositionReport,
    ResponderState,
    StatusReport,
    VitalSigns,
)
from tacmesh.protocol.crypto.suite import IP_TAG_LEN, NARROWBAND_TAG_LEN
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header, decode_header
from tacmesh.protocol.messages import MUST_SIGN, Body, encode_body
from tacmesh.protocol.pb import messages_pb2 as pb
from tacmesh.protocol.vectors.generate import KEYS
from tacmesh.protocol.vectors.mission import VectorMission

REFERENCES = (
    ("meshtastic position (no integrity check)", 45),
    ("reticulum 32-byte payload, encrypted link packet", 115),
)

HANDHELD, RELAY, COMMAND = 0x1201, 0x1200, 0x0001


@dataclass(frozen=True)
class BudgetRow:
    message: str
    body_bytes: int
    protobuf_bytes: int | None
    """Size of the same content as protobuf, where a compact form is used instead."""
    header_bytes: int
    narrowband_bytes: int
    udp_bytes: int
    signed: bool


def _position() -> PositionReport:
    return PositionReport.from_degrees(
        31.23456, 103.98765, alt_m=1480, accuracy_m=4, heading_deg=275, speed_half_mps=3,
        fix_age_s=1, datum=Datum.CGCS2000,
    )  # fmt: skip


def _position_pb(p: PositionReport) -> pb.Position:
    return pb.Position(
        lat_e7=p.lat_e5 * 100, lon_e7=p.lon_e5 * 100, alt_m=p.alt_m, accuracy_m=p.accuracy_m,
        heading_deg=p.heading_deg, speed_cm_s=(p.speed_half_mps or 0) * 50,
        fix_time=1_790_000_000, datum=pb.CGCS2000,
    )  # fmt: skip


def _samples() -> list[tuple[str, FrameType, Body, PbMessage | None]]:
    pos = _position()
    status = StatusReport(ResponderState.TRAPPED, battery_pct=62, air_remaining_min=18)
    vitals = VitalSigns(128, 93, 35.25, 24, Motion.STILL)
    status_pb = pb.Status(state=pb.TRAPPED, battery_pct=62, air_remaining_min=18)
    sos = pb.Sos(sos_id=7, kind=pb.SOS_TRAPPED, position=pos.encode(), escalate_after_s=60)
    return [
        ("position", FrameType.POSITION, pos, _position_pb(pos)),
        ("status", FrameType.STATUS, status, status_pb),
        ("vitals", FrameType.VITALS, vitals, pb.VitalSigns(heart_rate_bpm=128, spo2_pct=93,
         skin_temp_centi_c=3525, respiration_rpm=24, motion=pb.STILL)),
        ("sos (signed, with position)", FrameType.SOS, sos, None),
        ("text, 20 characters", FrameType.TEXT, pb.Text(body="Need water at sect 4"), None),
    ]  # fmt: skip


def wire_budget() -> list[BudgetRow]:
    mission = VectorMission(KEYS)
    sender = mission.codec(HANDHELD)
    rows = []
    for counter, (name, ftype, body, as_pb) in enumerate(_samples(), start=1):
        header = Header(
            type=ftype, priority=DEFAULT_PRIORITY[ftype], hop_limit=8, key_phase=0,
            transmitter=HANDHELD, counter=counter,
            destination=COMMAND if ftype in MUST_SIGN else 0xE012, next_hop=RELAY,
        )  # fmt: skip
        narrow = sender.encode(header, body, tag_len=NARROWBAND_TAG_LEN)
        udp = sender.encode(header, body, tag_len=IP_TAG_LEN)
        rows.append(
            BudgetRow(
                message=name,
                body_bytes=len(encode_body(ftype, body)),
                protobuf_bytes=None if as_pb is None else len(as_pb.SerializeToString()),
                header_bytes=decode_header(narrow)[1],
                narrowband_bytes=len(narrow),
                udp_bytes=len(udp),
                signed=ftype in MUST_SIGN,
            )
        )
    return rows


def format_budget(rows: list[BudgetRow]) -> str:
    lines = [
        f"{'message':<34} {'body':>5} {'as pb':>6} {'header':>7} {'narrowband':>11} {'udp':>5}",
        f"{'':<34} {'B':>5} {'B':>6} {'B':>7} {'tag 4 B':>11} {'tag 16':>5}",
    ]
    for r in rows:
        pb_size = "-" if r.protobuf_bytes is None else str(r.protobuf_bytes)
        lines.append(
            f"{r.message:<34} {r.body_bytes:>5} {pb_size:>6} {r.header_bytes:>7} "
            f"{r.narrowband_bytes:>11} {r.udp_bytes:>5}"
        )
    lines.append("")
    lines.append("for comparison (other mesh stacks, SPEC.md §6.1):")
    for name, size in REFERENCES:
        lines.append(f"  {name:<50} {size:>4} B")
    return "\n".join(lines)
