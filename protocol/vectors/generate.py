"""Write ``vectors.json`` from the cases below: ``python -m tacmesh.protocol.vectors.generate``.

Run it only when the wire changes (and change SPEC.md in the same commit); the tests and
``tacmesh protocol vectors --check`` hold the code to the committed file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tacmesh.protocol.vectors.conformance import compute
from tacmesh.protocol.vectors.mission import VectorMission

OUT = Path(__file__).with_name("vectors.json")
NOW = 1_790_000_000


def seed(label: str) -> str:
    """Deterministic 32-byte test seeds; never use these keys in the field."""
    return hashlib.sha256(b"tacmesh v1 test vector " + label.encode()).hexdigest()


KEYS: dict[str, Any] = {
    "authority_seed": seed("authority"),
    "network_keys": {"0": seed("network key 0"), "1": seed("network key 1")},
    "now": NOW,
    "cert_validity": [NOW - 86_400, NOW + 30 * 86_400],
    "nodes": {
        "0x0001": {"role": "COMMAND_POST", "serial": 1, "callsign": "HQ"},
        "0x1201": {"role": "HANDHELD", "serial": 2, "callsign": "FIRE-1-3", "team": 18},
        "0x1200": {"role": "TEAM_RELAY", "serial": 3, "callsign": "FIRE-1-RLY", "team": 18},
        "0x0a01": {"role": "UAV_RELAY", "serial": 4, "callsign": "UAV-1"},
    },
}
for _addr, _spec in KEYS["nodes"].items():
    _spec["sign_seed"] = seed(f"sign {_addr}")
    _spec["dh_seed"] = seed(f"dh {_addr}")

POSITION = {
    "lat_e5": 3123456,
    "lon_e5": 10398765,
    "alt_m": 1480,
    "accuracy_m": 4,
    "heading_deg": 275,
    "speed_half_mps": 3,
    "fix_age_s": 1,
    "datum": "CGCS2000",
}
STATUS = {"state": "TRAPPED", "battery_pct": 62, "air_remaining_min": 18}
VITALS = {
    "heart_rate_bpm": 128,
    "spo2_pct": 93,
    "skin_temp_c": 35.25,
    "respiration_rpm": 24,
    "motion": "STILL",
}
SOS = {
    "sos_id": 7,
    "kind": "SOS_TRAPPED",
    "escalation_level": 1,
    "escalate_after_s": 60,
    "note": "pinned, level 2",
}
ORDER = {
    "order_id": 41,
    "kind": "ORDER_WITHDRAW",
    "instruction": "Withdraw to staging area B",
    "valid_for_s": 900,
    "ack_required": True,
}

H_POSITION = {
    "type": "POSITION",
    "priority": "POSITION",
    "hop_limit": 8,
    "key_phase": 0,
    "transmitter": 0x1201,
    "counter": 1001,
    "destination": 0xE012,
    "next_hop": 0x1200,
}


def _hdr(**over: Any) -> dict[str, Any]:
    return {**H_POSITION, **over}


BODIES: list[tuple[str, dict[str, Any]]] = [
    ("POSITION", POSITION),
    ("STATUS", STATUS),
    ("VITALS", VITALS),
    ("SOS", SOS),
    ("SOS_ACK", {"sos_origin": 0x1201, "sos_id": 7, "eta_s": 420, "note": "medic inbound"}),
    ("TEXT", {"body": "Need water at sector 4"}),
    (
        "SENSOR",
        {
            "sensor_id": 1,
            "reading_age_s": 2,
            "readings": [
                {"gas": "CH4", "unit": "PERCENT_VOL", "value_milli": 1250, "alarm": "ALARM_LOW"},
                {"gas": "CO", "unit": "PPM", "value_milli": 35000},
                {"gas": "O2", "unit": "PERCENT_VOL", "value_milli": 19800},
                {"gas": "H2S", "unit": "PPM", "value_milli": 0},
            ],
        },
    ),
    ("ORDER", ORDER),
    ("ORDER_ACK", {"order_origin": 1, "order_id": 41, "result": "ORDER_ACCEPTED"}),
    ("DELIVERY_ACK", {"refs": [{"origin": 0x1201, "msg_id": 1001}]}),
    (
        "BULK",
        {
            "object_id": 3,
            "offset": 0,
            "total_len": 4096,
            "media_type": "image/jpeg",
            "data": "/9j/4AAQ",
        },
    ),
    (
        "HELLO",
        {
            "seqno": 17,
            "interval_ms": 500,
            "role": 6,
            "endurance_s": 5400,
            "heard": "EgD6",  # base64 of 12 00 fa: neighbour 0x1200 at quality 250
        },
    ),
    (
        "ROUTE_UPDATE",
        {
            "interval_ms": 4000,
            "routes": [
                {"prefix": 0x1200, "host_bits": 8, "seqno": 5, "metric": 256},
                {"prefix": 0x0A01, "seqno": 9, "metric": 384},
            ],
        },
    ),
    (
        "ROUTE_REQUEST",
        {
            "routes": [
                {"prefix": 0x1201, "seqno": 6},
                {"prefix": 0x2000, "host_bits": 8, "seqno": 2},
            ],
            "hop_count": 3,
        },
    ),
    ("CUSTODY_ACK", {"refs": [{"origin": 0x1201, "msg_id": 1001}]}),
    (
        "MGMT_REPORT",
        {"uptime_s": 3600, "battery_pct": 80, "routes": 12, "rejects": {"bad_tag": "2"}},
    ),
    (
        "MGMT_CONFIG",
        {"config_version": 2, "settings": [{"key": "hello_interval_ms", "value": "1000"}]},
    ),
]


def cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": "mission-id", "kind": "mission_id"},
        {"name": "hop-key/epoch-0", "kind": "hop_key", "epoch": 0},
        {"name": "hop-key/epoch-1", "kind": "hop_key", "epoch": 1},
    ]
    out += [
        {"name": f"varint/{v}", "kind": "varint", "value": v} for v in (0, 127, 128, 300, 2**32 - 1)
    ]
    out += [
        {"name": "header/minimal", "kind": "header", "header": H_POSITION},
        {
            "name": "header/all-extensions",
            "kind": "header",
            "header": _hdr(
                type="SOS",
                priority="SOS",
                hop_limit=14,
                key_phase=1,
                origin=0x1201,
                msg_id=77,
                age_s=95,
                lifetime_s=3600,
                custody=True,
                e2e=True,
                destination=0x0001,
            ),
        },
        {
            "name": "header/broadcast-hello",
            "kind": "header",
            "header": _hdr(
                type="HELLO", priority="CONTROL", hop_limit=0, destination=0xFFFF, next_hop=0xFFFF
            ),
        },
    ]
    out += [{"name": f"body/{t.lower()}", "kind": "body", "type": t, "body": b} for t, b in BODIES]
    out += [
        {"name": f"certificate/0x{a:04x}", "kind": "certificate", "address": f"0x{a:04x}"}
        for a in (0x0001, 0x1201)
    ]
    out += [
        {
            "name": "revocation/1",
            "kind": "revocation",
            "number": 1,
            "issued_at": NOW,
            "serials": [4],
        },
        {
            "name": "key-update/epoch-1",
            "kind": "key_update",
            "epoch": 1,
            "activate_at": NOW + 600,
            "retire_previous_at": NOW + 1200,
            "recipients": ["0x0001", "0x1200", "0x1201"],
            "ephemeral_seed": seed("ephemeral ku"),
        },
        {
            "name": "e2e/signed",
            "kind": "e2e",
            "type": "SOS",
            "origin": "0x1201",
            "destination": "0x0001",
            "msg_id": 1002,
            "body_hex": "0807",
            "sign": True,
            "seal": False,
        },
        {
            "name": "e2e/signed-sealed",
            "kind": "e2e",
            "type": "ORDER",
            "origin": "0x0001",
            "destination": "0x1201",
            "msg_id": 5,
            "body_hex": "0829",
            "sign": True,
            "seal": True,
            "ephemeral_seed": seed("ephemeral e2e"),
        },
    ]
    out += _frames()
    return out


def _frames() -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = [
        {
            "name": "frame/position-narrowband",
            "kind": "frame",
            "tag_len": 4,
            "receiver": "0x1200",
            "header": H_POSITION,
            "body": POSITION,
        },
        {
            "name": "frame/status-narrowband",
            "kind": "frame",
            "tag_len": 4,
            "receiver": "0x1200",
            "header": _hdr(type="STATUS", counter=1002),
            "body": STATUS,
        },
        {
            "name": "frame/vitals-narrowband",
            "kind": "frame",
            "tag_len": 4,
            "receiver": "0x1200",
            "header": _hdr(type="VITALS", priority="ALERT", counter=1003),
            "body": VITALS,
        },
        {
            "name": "frame/position-udp-epoch-1",
            "kind": "frame",
            "tag_len": 16,
            "receiver": "0x1200",
            "epoch": 1,
            "header": _hdr(counter=1004, key_phase=1),
            "body": POSITION,
        },
        {
            "name": "frame/sos-signed",
            "kind": "frame",
            "tag_len": 4,
            "receiver": "0x1200",
            "sign": True,
            "header": _hdr(type="SOS", priority="SOS", counter=1005, destination=0x0001, e2e=True),
            "body": SOS,
        },
        {
            "name": "frame/order-signed-sealed",
            "kind": "frame",
            "tag_len": 16,
            "receiver": "0x1201",
            "sign": True,
            "seal_to": "0x1201",
            "ephemeral_seed": seed("ephemeral order"),
            "header": _hdr(
                type="ORDER",
                priority="COMMAND",
                transmitter=0x0001,
                counter=9,
                destination=0x1201,
                next_hop=0x1201,
                e2e=True,
                lifetime_s=900,
            ),
            "body": ORDER,
        },
    ]
    return frames


def _forwards(done: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    sos = done["frame/sos-signed"]
    return [
        {
            "name": "forward/sos-relay-to-udp",
            "kind": "forward",
            "input": sos["hex"],
            "relay": "0x1200",
            "counter": 50,
            "next_hop": "0x0a01",
            "tag_in": 4,
            "tag_out": 16,
            "receiver": "0x0001",
            "header": {
                **sos["header"],
                "transmitter": 0x1200,
                "counter": 50,
                "next_hop": 0x0A01,
                "hop_limit": 7,
                "origin": 0x1201,
                "msg_id": 1005,
            },
        },
        {
            "name": "fragments/order-mtu-51",
            "kind": "fragments",
            "input": done["frame/order-signed-sealed"]["hex"],
            "mtu": 51,
            "priority": "COMMAND",
            "transmitter": "0x1200",
            "datagram_tag": 9,
        },
    ]


def main() -> None:
    mission = VectorMission(KEYS)
    done: dict[str, dict[str, Any]] = {}
    vectors = []
    for case in cases():
        case["hex"] = compute(mission, case).hex()
        done[case["name"]] = case
        vectors.append(case)
    for case in _forwards(done):
        case["hex"] = compute(mission, case).hex()
        vectors.append(case)
    doc = {"protocol": "tacmesh", "version": 1, "keys": KEYS, "vectors": vectors}
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {OUT}")


if __name__ == "__main__":
    main()
