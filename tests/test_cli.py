"""The ``tacmesh`` command, run as users run it (a real subprocess of the console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tacmesh.protocol.vectors.conformance import load


def tacmesh(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("tacmesh", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "tacmesh.node.cli"]
    return subprocess.run([*cmd, *args], check=False, capture_output=True, text=True, timeout=120)


def test_version_and_help() -> None:
    out = tacmesh("--version")
    assert out.returncode == 0 and "tacmesh 0.1.0" in out.stdout and "protocol v1" in out.stdout
    out = tacmesh("--help")
    assert out.returncode == 0 and "protocol" in out.stdout
    out = tacmesh("protocol", "dissect", "--help")
    assert out.returncode == 0 and "pcap" in out.stdout


def test_no_command_prints_help_and_fails() -> None:
    out = tacmesh()
    assert out.returncode == 2 and "usage:" in out.stdout


def test_selfcheck_passes_and_prints_budget() -> None:
    out = tacmesh("protocol", "selfcheck")
    assert out.returncode == 0, out.stderr
    assert "0 failed" in out.stdout
    assert "position" in out.stdout and "meshtastic" in out.stdout


def test_vectors_check_fails_on_a_corrupt_file(tmp_path: Path) -> None:
    doc = load()
    doc["vectors"][0]["hex"] = "00" + doc["vectors"][0]["hex"][2:]
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(doc))
    out = tacmesh("protocol", "vectors", "--check", "--file", str(path))
    assert out.returncode == 1
    assert "FAIL mission-id" in out.stdout and "1 failed" in out.stdout


def test_vectors_check_reports_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    out = tacmesh("protocol", "vectors", "--check", "--file", str(path))
    assert out.returncode == 2 and "cannot read vectors" in out.stderr


@pytest.mark.parametrize("args", [["protocol", "dissect", "/nonexistent.pcap"]])
def test_dissect_missing_file_says_so(args: list[str]) -> None:
    out = tacmesh(*args)
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_dissect_prints_every_frame_of_a_capture(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    frames = [v for v in load()["vectors"] if v["kind"] == "frame" and v["tag_len"] == 16]
    packets = [
        IP(src="127.0.0.1", dst="127.0.0.1")
        / UDP(sport=4880, dport=4880)
        / Raw(bytes.fromhex(v["hex"]))
        for v in frames
    ]
    path = tmp_path / "capture.pcap"
    wrpcap(str(path), packets)
    out = tacmesh("protocol", "dissect", str(path))
    assert out.returncode == 0, out.stderr
    assert f"{len(frames)} tacmesh frame(s)" in out.stdout
    for v in frames:
        assert v["header"]["type"] in out.stdout
