"""The wire budget figure: measured from real frames, and within the issue's goal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tacmesh.protocol.budget import wire_budget
from tacmesh.protocol.compact import PositionReport
from tacmesh.protocol.crypto.suite import NARROWBAND_TAG_LEN

ROOT = Path(__file__).resolve().parents[1]


def test_rows_add_up() -> None:
    for row in wire_budget():
        assert row.narrowband_bytes == row.header_bytes + (row.narrowband_bytes - row.header_bytes)
        overhead = 1 + 64 if row.signed else 0  # envelope mode byte + Ed25519 signature
        assert (
            row.narrowband_bytes
            == row.header_bytes + row.body_bytes + overhead + NARROWBAND_TAG_LEN
        )
        assert row.udp_bytes == row.narrowband_bytes + 12


def test_compact_forms_beat_protobuf() -> None:
    rows = {r.message: r for r in wire_budget()}
    for name in ("position", "status", "vitals"):
        assert rows[name].protobuf_bytes is not None
        assert rows[name].body_bytes < rows[name].protobuf_bytes
    assert rows["position"].body_bytes == PositionReport.SIZE


def test_bench_prints_the_figure_last_and_meets_the_goal() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "wire_budget.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    last = out.stdout.strip().splitlines()[-1]
    key, value = last.split(": ")
    assert key == "position_report_on_air_bytes"
    assert int(value) <= 32
    assert "meshtastic" in out.stdout and "reticulum" in out.stdout
