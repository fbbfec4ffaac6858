"""The simulator's captures read back exactly: scapy, the project's dissector, the CLI, tshark.

Frames are real ones, sealed by a ``SimMission`` codec, so the dissector decodes them as a
node would; every reader must see the same bytes and the same microsecond timestamps.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.utils import PcapReader

from tacmesh.node.cli import main as cli_main
from tacmesh.protocol.addresses import Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.suite import IP_TAG_LEN, NARROWBAND_TAG_LEN
from tacmesh.protocol.dissect import dissect_pcap
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.scapy_layer import DLT_TACMESH_NARROWBAND, TACMESH_UDP_PORT
from tacmesh.sim.mission import SimMission
from tacmesh.sim.pcap import FILE_NAMES, PcapWriter, node_ip, node_mac, timestamp_us

GATEWAY, HANDHELD = 0x0301, 0x0101
START = 1_790_000_000.25
"""A start with a fraction, so that a float sum would show rounding."""


@dataclass(frozen=True)
class Sent:
    t_s: float
    node: int
    kind: str
    data: bytes
    direction: str
    peer: int | None

    @property
    def epoch(self) -> Decimal:
        return Decimal("1790000000.25") + Decimal(str(self.t_s))


def _text(codec: WireCodec, counter: int, tag_len: int) -> bytes:
    to = HANDHELD if codec.address == GATEWAY else GATEWAY
    header = Header(FrameType.TEXT, Priority.TEXT, 8, 0, codec.address, counter, to, to)
    return codec.encode(header, messages_pb2.Text(body=f"frame {counter}"), tag_len=tag_len)


@pytest.fixture(scope="module")
def sent() -> list[Sent]:
    """Two nodes, both kinds, both directions, broadcast and unicast, in time order; a
    frame sent by one node is also captured where the other receives it."""
    mission = SimMission(7, START)
    gw, hh = mission.enrol(GATEWAY, Role.GATEWAY), mission.enrol(HANDHELD, Role.HANDHELD)
    nb, ip = NARROWBAND_TAG_LEN, IP_TAG_LEN
    first, second = _text(gw, 1, nb), _text(gw, 2, ip)
    return [
        Sent(0.0, GATEWAY, "narrowband", first, "tx", None),
        Sent(0.000001, HANDHELD, "narrowband", first, "rx", GATEWAY),
        Sent(12.345678, GATEWAY, "ip", second, "tx", HANDHELD),
        Sent(12.345679, HANDHELD, "ip", second, "rx", GATEWAY),
        Sent(600.5, HANDHELD, "ip", _text(hh, 3, ip), "tx", None),
        Sent(3599.999999, HANDHELD, "narrowband", _text(hh, 4, nb), "tx", None),
    ]


@pytest.fixture(scope="module")
def written(sent: list[Sent], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pcap")
    with PcapWriter(directory, START) as writer:
        for s in sent:
            writer.frame(s.t_s, s.node, s.kind, s.data, s.direction, s.peer)
        paths = writer.close()
    assert sorted(p.name for p in paths) == sorted(FILE_NAMES.values())
    return {kind: directory / name for kind, name in FILE_NAMES.items()}


def _read(path: Path) -> tuple[int, list[Packet]]:
    with PcapReader(str(path)) as reader:
        return int(reader.linktype), list(reader)


def test_constants_are_the_protocols() -> None:
    assert TACMESH_UDP_PORT == 4880
    assert DLT_TACMESH_NARROWBAND == 147


def test_narrowband_capture_holds_the_raw_frames(
    sent: list[Sent], written: dict[str, Path]
) -> None:
    linktype, packets = _read(written["narrowband"])
    expected = [s for s in sent if s.kind == "narrowband"]
    assert linktype == DLT_TACMESH_NARROWBAND
    assert [bytes(p) for p in packets] == [s.data for s in expected]
    assert [p.time for p in packets] == [s.epoch for s in expected]


def test_ip_capture_holds_udp_datagrams(sent: list[Sent], written: dict[str, Path]) -> None:
    linktype, packets = _read(written["ip"])
    expected = [s for s in sent if s.kind == "ip"]
    assert linktype == 1  # Ethernet
    assert [p.time for p in packets] == [s.epoch for s in expected]
    for pkt, s in zip(packets, expected, strict=True):
        udp = pkt[UDP]
        assert (udp.sport, udp.dport) == (TACMESH_UDP_PORT, TACMESH_UDP_PORT)
        assert bytes(udp.payload) == s.data
        here, there = _addresses(s)
        src, dst = (here, there) if s.direction == "tx" else (there, here)
        assert (pkt[IP].src, pkt[IP].dst) == (src[0], dst[0])
        assert (pkt[Ether].src, pkt[Ether].dst) == (src[1], dst[1])


def _addresses(s: Sent) -> tuple[tuple[str, str], tuple[str, str]]:
    """(ip, mac) of the capturing node and of its peer, as scapy prints them."""

    def pair(node: int) -> tuple[str, str]:
        return f"198.18.{node >> 8}.{node & 0xFF}", node_mac(node).hex(":")

    if s.peer is not None:
        return pair(s.node), pair(s.peer)
    if s.direction == "tx":
        return pair(s.node), ("255.255.255.255", "ff:ff:ff:ff:ff:ff")
    return pair(s.node), ("0.0.0.0", "00:00:00:00:00:00")


def test_ip_and_udp_checksums_are_valid(written: dict[str, Path]) -> None:
    for pkt in _read(written["ip"])[1]:
        rebuilt = pkt.copy()
        del rebuilt[IP].chksum, rebuilt[UDP].chksum
        rebuilt = Ether(bytes(rebuilt))
        assert (pkt[IP].chksum, pkt[UDP].chksum) == (rebuilt[IP].chksum, rebuilt[UDP].chksum)


def test_record_headers_are_exact(sent: list[Sent], written: dict[str, Path]) -> None:
    """Independent of any reader: parse the pcap structure with struct."""
    for kind, path in written.items():
        raw = path.read_bytes()
        magic, major, minor, _, _, _, link = struct.unpack_from("<IHHiIII", raw)
        assert (magic, major, minor) == (0xA1B2C3D4, 2, 4)
        assert link == (147 if kind == "narrowband" else 1)
        pos, times = 24, []
        while pos < len(raw):
            sec, usec, incl, orig = struct.unpack_from("<IIII", raw, pos)
            assert incl == orig
            times.append(Decimal(sec) + Decimal(usec) / 1_000_000)
            pos += 16 + incl
        assert pos == len(raw)
        assert times == [s.epoch for s in sent if s.kind == kind]


def test_the_dissector_decodes_every_frame(sent: list[Sent], written: dict[str, Path]) -> None:
    for kind, path in written.items():
        expected = [s for s in sent if s.kind == kind]
        frames = list(dissect_pcap(path))
        assert [f.data for f in frames] == [s.data for s in expected]
        assert [f.reason for f in frames] == [None] * len(expected)
        tag = NARROWBAND_TAG_LEN if kind == "narrowband" else IP_TAG_LEN
        assert all(len(f.tag) == tag for f in frames)
    ip = next(dissect_pcap(written["ip"]))
    assert ip.bearer == "udp 198.18.3.1:4880->198.18.1.1:4880"
    assert ip.fields["transmitter"] == GATEWAY
    assert ip.fields["counter"] == 2


def test_the_cli_dissects_both_files(
    written: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, count in (("narrowband", 3), ("ip", 3)):
        assert cli_main(["protocol", "dissect", str(written[kind])]) == 0
        out = capsys.readouterr().out
        assert f"{count} tacmesh frame(s)" in out
        assert "capture starts 2026-09-21T" in out


def test_tshark_reads_both_files(sent: list[Sent], written: dict[str, Path]) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    for kind, path in written.items():
        out = subprocess.run(
            [
                tshark,
                "-r",
                str(path),
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "udp.dstport",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [line.split("\t") for line in out.splitlines()]
        expected = [s for s in sent if s.kind == kind]
        assert [Decimal(epoch) for epoch, _ in rows] == [s.epoch for s in expected]
        port = str(TACMESH_UDP_PORT) if kind == "ip" else ""
        assert [p for _, p in rows] == [port] * len(expected)


def test_only_files_with_frames_are_created(tmp_path: Path) -> None:
    assert PcapWriter(tmp_path, START).close() == []
    writer = PcapWriter(tmp_path, START)
    writer.frame(1.0, GATEWAY, "narrowband", b"\x00" * 12, "rx", None)
    assert writer.close() == [tmp_path / "frames-narrowband.pcap"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames-narrowband.pcap"]


@pytest.mark.parametrize(
    ("start", "t_s", "expected"),
    [
        (1_790_000_000.25, 12.345678, 1_790_000_012_595_678),
        (0.0, 0.1, 100_000),
        (1_700_000_000.0, 3599.999999, 1_700_003_599_999_999),
        (1_700_000_000.0, 0.0000004, 1_700_000_000_000_000),
    ],
)
def test_timestamps_are_whole_microseconds(start: float, t_s: float, expected: int) -> None:
    assert timestamp_us(start, t_s) == expected


def test_addresses_are_in_the_benchmarking_range() -> None:
    assert node_ip(0x0301) == bytes([198, 18, 3, 1])
    assert node_mac(0xDFFF) == bytes([2, 0, 198, 18, 0xDF, 0xFF])
    with pytest.raises(ValueError, match="16 bits"):
        node_ip(0x1_0000)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    writer = PcapWriter(tmp_path, START)
    with pytest.raises(ValueError, match="direction"):
        writer.frame(0.0, GATEWAY, "ip", b"x", "sideways", None)
    with pytest.raises(ValueError, match="interface kind"):
        writer.frame(0.0, GATEWAY, "lora", b"x", "tx", None)
    with pytest.raises(ValueError, match="UDP datagram"):
        writer.frame(0.0, GATEWAY, "ip", bytes(70_000), "tx", None)
    assert writer.close() == []
