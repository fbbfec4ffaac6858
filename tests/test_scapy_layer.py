"""The scapy layer and the pcap dissector agree with the codec, byte for byte.

The codec (header.py, fragment.py) is the authority; the scapy layer is a second description
of the same layout, so every test builds real frames with a ``WireCodec``, writes them to a
pcap the way a capture would hold them (UDP on port 4880 with a 16-byte tag, or link type
147 with a 4-byte tag), reads them back, and compares field by field in both directions.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.config import conf
from scapy.layers.inet import IP, UDP
from scapy.packet import Packet, Raw
from scapy.utils import rdpcap, wrpcap, wrpcapng

from tacmesh.protocol.addresses import ALL_HANDS, Role, format_address, role_group, team_group
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.compact import PositionReport
from tacmesh.protocol.crypto.certificates import MissionAuthority
from tacmesh.protocol.crypto.hop import open_frame
from tacmesh.protocol.crypto.identity import NodeIdentity
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.trust import TrustStore
from tacmesh.protocol.dissect import DissectedFrame, dissect_pcap, format_frame
from tacmesh.protocol.fragment import decode_fragment, split
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header, decode_header, encode_header
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.scapy_layer import (
    DLT_TACMESH_NARROWBAND,
    TacMesh,
    TacMeshFragment,
    TacMeshNarrowband,
    TacMeshTruncated,
)

HANDHELD, RELAY, COMMAND = 0x0101, 0x0201, 0x0001
PORT = 4880
T0 = 1_700_000_000
UDP_BEARER = "udp 127.0.0.1:4880->127.0.0.1:4880"


# --- a small mission (kept local: tests/conftest.py is written separately) -------------------


@dataclass
class Mission:
    keyring: NetworkKeyring
    codecs: dict[int, WireCodec]
    phase1: WireCodec
    """The handheld with a keyring whose current epoch is 1, for key phase 1 frames."""


def make_mission() -> Mission:
    authority = MissionAuthority.generate()
    network_key = os.urandom(32)
    nodes = {}
    for address, role in ((HANDHELD, Role.HANDHELD), (RELAY, Role.TEAM_RELAY)):
        ident = NodeIdentity.generate()
        cert = authority.issue(
            serial=address,
            address=address,
            role=role,
            sign_key=ident.sign_public,
            dh_key=ident.dh_public,
            not_before=0,
            not_after=2**40,
        )
        nodes[address] = (ident, cert)

    def codec(address: int, keyring: NetworkKeyring) -> WireCodec:
        trust = TrustStore(authority.public_key)
        for _, cert in nodes.values():
            trust.add_certificate(cert, 100)
        return WireCodec(address, nodes[address][0], trust, keyring)

    keyring = NetworkKeyring(authority.mission_id, network_key)
    codecs = {a: codec(a, NetworkKeyring(authority.mission_id, network_key)) for a in nodes}
    phase1 = codec(HANDHELD, NetworkKeyring(authority.mission_id, network_key, epoch=1))
    return Mission(keyring, codecs, phase1)


@pytest.fixture(scope="module")
def mission() -> Mission:
    return make_mission()


# --- the frames: every extension field present and absent ------------------------------------

TEXT = messages_pb2.Text(body="hello from 0x0101")
HERE = PositionReport.from_degrees(31.2345, 103.98765, alt_m=1200, accuracy_m=4)


def _h(**changes: object) -> Header:
    base = Header(FrameType.TEXT, Priority.TEXT, 8, 0, HANDHELD, 1, RELAY, RELAY)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# name -> (header, body, WireCodec.encode options). The codec sets e2e (and key phase) itself.
CASES: dict[str, tuple[Header, Body, dict[str, object]]] = {
    "plain": (_h(counter=1), TEXT, {}),
    "broadcast position": (
        _h(
            type=FrameType.POSITION,
            priority=Priority.POSITION,
            hop_limit=15,
            counter=2,
            destination=team_group(3),
            next_hop=ALL_HANDS,
        ),
        HERE,
        {},
    ),
    "origin and msg_id": (_h(counter=3, origin=0x0301, msg_id=0xFFFF_FFFF), TEXT, {}),
    "age 0": (_h(counter=4, age_s=0), TEXT, {}),
    "lifetime 128": (_h(counter=5, lifetime_s=128), TEXT, {}),
    "age and lifetime": (_h(counter=6, age_s=127, lifetime_s=0xFFFF_FFFF), TEXT, {}),
    "custody only": (_h(counter=7, custody=True), TEXT, {}),
    "signed sos (e2e)": (
        _h(
            type=FrameType.SOS,
            priority=Priority.SOS,
            counter=8,
            destination=role_group(Role.COMMAND_POST),
        ),
        messages_pb2.Sos(sos_id=1, kind=messages_pb2.SOS_TRAPPED),
        {},
    ),
    "sealed text (e2e)": (_h(counter=9), TEXT, {"seal_to": RELAY, "now": 100}),
    "everything": (
        _h(
            hop_limit=0,
            counter=0xFFFF_FFFF,
            origin=0xDFFF,
            msg_id=0,
            age_s=16384,
            lifetime_s=600,
            custody=True,
        ),
        TEXT,
        {"sign": True},
    ),
}
PHASE1 = "key phase 1"


@dataclass
class Built:
    name: str
    frame: bytes
    header: Header
    header_len: int
    tag_len: int


def build_frames(mission: Mission, tag_len: int) -> list[Built]:
    """Every case, sealed by the handheld's codec, plus a relayed copy and a key phase 1
    frame; ``header`` is what the codec decodes from the frame."""
    sender = mission.codecs[HANDHELD]
    named = [
        (name, sender.encode(h, body, tag_len=tag_len, **opts))  # type: ignore[arg-type]
        for name, (h, body, opts) in CASES.items()
    ]
    opened = open_frame(named[0][1], mission.keyring, tag_len)  # no replay guard: reused
    relayed = mission.codecs[RELAY].forward(opened, counter=40, next_hop=0x0301, tag_len=tag_len)
    named.append(("relayed", relayed))
    named.append((PHASE1, mission.phase1.encode(_h(counter=50), TEXT, tag_len=tag_len)))
    return [Built(name, frame, *decode_header(frame), tag_len) for name, frame in named]


def fragments_of(mission: Mission, tag_len: int) -> list[bytes]:
    """A BULK frame split for a 40-byte MTU (fragments carry no tag of their own)."""
    bulk = messages_pb2.Bulk(object_id=9, total_len=90, data=bytes(range(90)))
    frame = mission.codecs[HANDHELD].encode(
        _h(type=FrameType.BULK, priority=Priority.BULK, counter=60), bulk, tag_len=tag_len
    )
    pieces = split(frame, 40, priority=Priority.BULK, transmitter=HANDHELD, datagram_tag=7)
    assert len(pieces) > 2
    return pieces


# --- helpers: compare a scapy layer with the codec ------------------------------------------

SCAPY_NAME = {"custody": "C", "e2e": "E"}


def header_dict(h: Header) -> dict[str, object]:
    return {f.name: getattr(h, f.name) for f in dataclasses.fields(h)}


def assert_layer_matches(layer: Packet, b: Built) -> None:
    """Every Header field, the flags that announce them, and the payload/tag split."""
    h, frame = b.header, b.frame
    assert layer.version == 1
    for name, want in header_dict(h).items():
        got = layer.getfieldval(SCAPY_NAME.get(name, name))
        if name in SCAPY_NAME:
            got = bool(got)
        assert got == want, f"{b.name}: {name} is {got!r}, codec says {want!r}"
    has_ext = any(
        (h.origin is not None, h.age_s is not None, h.lifetime_s is not None, h.custody, h.e2e)
    )
    assert int(has_ext) == layer.X, b.name
    flags = (layer.O, layer.A, layer.L, layer.reserved)
    if has_ext:
        want_flags = (h.origin is not None, h.age_s is not None, h.lifetime_s is not None, 0)
        assert flags == tuple(int(x) for x in want_flags), b.name
    else:
        assert flags == (None, None, None, None), b.name
    assert layer.ciphertext == frame[b.header_len : len(frame) - b.tag_len], b.name
    assert layer.tag == frame[len(frame) - b.tag_len :], b.name
    assert layer.payload_and_tag == frame[b.header_len :], b.name
    assert len(layer.tag) == b.tag_len == layer.tag_len


def layer_from_header(h: Header, *, ciphertext: bytes = b"", tag: bytes = b"") -> TacMesh:
    """A TacMesh built from Header values alone: X, O, A and L are left for scapy to imply."""
    return TacMesh(
        type=int(h.type),
        priority=int(h.priority),
        hop_limit=h.hop_limit,
        key_phase=h.key_phase,
        transmitter=h.transmitter,
        counter=h.counter,
        destination=h.destination,
        next_hop=h.next_hop,
        origin=h.origin,
        msg_id=h.msg_id,
        age_s=h.age_s,
        lifetime_s=h.lifetime_s,
        C=int(h.custody),
        E=int(h.e2e),
        ciphertext=ciphertext,
        tag=tag,
    )


# pcapng: scapy 2.8 writes one interface block per ``sniffed_on`` name, with the link type
# of the first packet seen on it; two bearers in one file need two interface names.


def udp_packet(frame: bytes, ts: float, sport: int = PORT, dport: int = PORT) -> Packet:
    pkt = IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=sport, dport=dport) / Raw(frame)
    pkt.time, pkt.sniffed_on = ts, "lo"
    return pkt


def narrowband_packet(frame: bytes, ts: float) -> Packet:
    pkt = TacMeshNarrowband(frame)
    pkt.time, pkt.sniffed_on = ts, "radio0"
    return pkt


def pcap_linktype(path: Path) -> int:
    return int(struct.unpack("<I", path.read_bytes()[20:24])[0])


# --- scapy layer vs codec --------------------------------------------------------------------


def test_udp_capture_dissects_like_the_codec(mission: Mission, tmp_path: Path) -> None:
    built = build_frames(mission, tag_len=16)
    frags = fragments_of(mission, tag_len=16)
    path = tmp_path / "udp.pcap"
    packets = [udp_packet(b.frame, T0 + i) for i, b in enumerate(built)]
    wrpcap(str(path), packets + [udp_packet(f, T0 + 100) for f in frags])

    read = rdpcap(str(path))
    assert len(read) == len(built) + len(frags)
    for pkt, b in zip(read, built, strict=False):
        assert pkt[UDP].dport == PORT
        assert_layer_matches(pkt[TacMesh], b)
    for pkt, data in zip(read[len(built) :], frags, strict=True):
        assert_fragment_matches(pkt[TacMeshFragment], data)


def test_narrowband_capture_uses_dlt_147_and_a_4_byte_tag(mission: Mission, tmp_path: Path) -> None:
    built = build_frames(mission, tag_len=4)
    frags = fragments_of(mission, tag_len=4)
    path = tmp_path / "narrowband.pcap"
    packets = [narrowband_packet(b.frame, T0 + i) for i, b in enumerate(built)]
    wrpcap(str(path), packets + [narrowband_packet(f, T0 + 100) for f in frags])

    assert conf.l2types.num2layer[DLT_TACMESH_NARROWBAND] is TacMeshNarrowband
    assert pcap_linktype(path) == DLT_TACMESH_NARROWBAND
    read = rdpcap(str(path))
    for pkt, b in zip(read, built, strict=False):
        assert type(pkt) is TacMeshNarrowband
        assert_layer_matches(pkt, b)
        assert bytes(pkt) == b.frame
    for pkt, data in zip(read[len(built) :], frags, strict=True):
        assert type(pkt) is TacMeshFragment
        assert_fragment_matches(pkt, data)


def assert_fragment_matches(layer: Packet, data: bytes) -> None:
    frag = decode_fragment(data)
    assert (layer.version, layer.type, layer.X, layer.reserved) == (1, FrameType.FRAGMENT, 0, 0)
    for f in dataclasses.fields(frag):
        assert layer.getfieldval(f.name) == getattr(frag, f.name), f.name
    rebuilt = TacMeshFragment(
        priority=int(frag.priority),
        transmitter=frag.transmitter,
        datagram_tag=frag.datagram_tag,
        index=frag.index,
        count=frag.count,
        chunk=frag.chunk,
    )
    assert bytes(rebuilt) == data


def test_scapy_builds_the_codec_bytes(mission: Mission) -> None:
    for b in build_frames(mission, tag_len=16):
        h, frame = b.header, b.frame
        assert bytes(layer_from_header(h)) == encode_header(h), b.name
        full = layer_from_header(h, ciphertext=frame[b.header_len : -16], tag=frame[-16:])
        assert bytes(full) == frame, b.name
        # Explicit flags build the same bytes as implied ones.
        explicit = layer_from_header(h)
        if explicit.X:
            explicit.X, explicit.O = 1, int(h.origin is not None)
            explicit.A, explicit.L = int(h.age_s is not None), int(h.lifetime_s is not None)
        assert bytes(explicit) == encode_header(h), b.name
        # And through IP/UDP: scapy sets the tacmesh ports itself.
        wrapped = IP(bytes(IP(dst="127.0.0.1") / UDP() / full))
        assert (wrapped[UDP].sport, wrapped[UDP].dport) == (PORT, PORT)
        assert bytes(wrapped[TacMesh]) == frame


@pytest.mark.parametrize("value", [0, 1, 127, 128, 16383, 16384, 2**21, 2**28, 2**32 - 1])
def test_leb128_field_builds_and_dissects_like_varint_py(value: int) -> None:
    h = _h(age_s=value, lifetime_s=value)
    wire = encode_header(h)
    assert bytes(layer_from_header(h)) == wire
    layer = TacMesh(wire, tag_len=0)
    assert (layer.age_s, layer.lifetime_s) == (value, value)
    assert layer.ciphertext == layer.tag == b""


def test_tag_length_is_a_class_and_instance_setting() -> None:
    frame = encode_header(_h()) + bytes(range(20))
    assert TacMesh(frame).tag == bytes(range(4, 20))
    assert TacMeshNarrowband(frame).tag == bytes(range(16, 20))
    assert TacMesh(frame, tag_len=8).tag == bytes(range(12, 20))
    assert TacMesh(frame, tag_len=8).ciphertext == bytes(range(12))


def layer_for(data: bytes, cls: type[Packet] = TacMesh) -> type[Packet]:
    return type(cls(data))


def test_too_short_bytes_dissect_as_truncated() -> None:
    """So that a capture with garbage on the tacmesh port never stops the dump."""
    whole = encode_header(_h())
    assert layer_for(whole) is TacMesh  # a bare 12-byte header is complete
    assert layer_for(b"\x6b\x00") is TacMeshTruncated
    assert layer_for(bytes([whole[0] | 1]) + whole[1:]) is TacMeshTruncated  # no ext byte
    with_origin = encode_header(_h(origin=0x0301, msg_id=5))
    assert layer_for(with_origin[:16], TacMeshNarrowband) is TacMeshTruncated  # origin cut
    assert layer_for(b"\x5e\x00\x01") is TacMeshTruncated  # a 3-byte "fragment"


# --- dissect_pcap / format_frame -------------------------------------------------------------


def assert_dissected(d: DissectedFrame, b: Built, number: int, bearer: str) -> None:
    assert (d.number, d.time, d.bearer) == (number, float(T0 + number - 1), bearer), b.name
    assert d.reason is None, f"{b.name}: {d.reason} {d.detail}"
    assert d.fields == header_dict(b.header), b.name
    assert list(d.fields) == [f.name for f in dataclasses.fields(Header)]
    assert d.header_len == b.header_len
    assert d.tag == b.frame[-b.tag_len :]
    assert d.payload_len == len(b.frame) - b.header_len - b.tag_len
    text = format_frame(d)
    h = b.header
    for part in (
        h.type.name,
        f"priority {h.priority.name}",
        f"hop limit {h.hop_limit}",
        f"counter {h.counter}",
        f"{format_address(h.transmitter)} -> {format_address(h.destination)}",
        f"next hop {format_address(h.next_hop)}",
        f"tag {b.tag_len} B {d.tag.hex()}",
    ):
        assert part in text, f"{b.name}: {part!r} not in\n{text}"
    if h.origin is not None:
        assert f"origin {format_address(h.origin)} msg id {h.msg_id}" in text
    if h.age_s is not None:
        assert f"age {h.age_s} s" in text
    if h.lifetime_s is not None:
        assert f"lifetime {h.lifetime_s} s" in text
    # flags are words of the ext line only: a tag's hex can contain "e2e" by chance
    ext_words = {w for line in text.splitlines() if line.startswith("  ext ") for w in line.split()}
    assert ("custody" in ext_words) == h.custody
    assert ("e2e" in ext_words) == h.e2e


GARBAGE = {
    b"\xff\xff\xff\xff": "bad_version",
    bytes(20): "bad_version",
    b"\x6b\x00": "truncated",  # version 1, TEXT, X: two bytes only
    b"\x41" + bytes(30): "unknown_type",
    encode_header(_h()) + b"\x00" * 3: "truncated",  # no room for a 16-byte tag
    encode_header(_h(custody=True))[:-1] + b"\x11" + bytes(16): "reserved_bits",
    b"\x5e\xc1\x01\x01\x07\x00\x01abc": "reserved_bits",  # fragment with byte 1 bits set
}


def test_dissect_pcap_yields_the_codec_fields(mission: Mission, tmp_path: Path) -> None:
    built = build_frames(mission, tag_len=16)
    frags = fragments_of(mission, tag_len=16)
    packets = [udp_packet(b.frame, T0 + i) for i, b in enumerate(built)]
    n = len(packets)
    packets.append(udp_packet(frags[1], T0 + n))
    packets.append(udp_packet(b"not tacmesh", T0 + n + 1, sport=53, dport=53))
    packets += [udp_packet(data, T0 + n + 2 + i) for i, data in enumerate(GARBAGE)]
    path = tmp_path / "mixed.pcap"
    wrpcap(str(path), packets)

    out = list(dissect_pcap(path))
    assert len(out) == len(packets) - 1  # the DNS-port datagram is not a tacmesh frame
    for i, (d, b) in enumerate(zip(out, built, strict=False)):
        assert_dissected(d, b, i + 1, UDP_BEARER)

    frag = out[n]
    assert frag.number == n + 1
    assert frag.fields["type"] is FrameType.FRAGMENT
    assert {k: frag.fields[k] for k in ("transmitter", "datagram_tag", "index", "count")} == {
        "transmitter": HANDHELD,
        "datagram_tag": 7,
        "index": 1,
        "count": len(frags),
    }
    assert "FRAGMENT priority BULK" in format_frame(frag)

    rejected = out[n + 1 :]
    assert [d.number for d in rejected] == list(range(n + 3, n + 3 + len(GARBAGE)))
    for d, (data, reason) in zip(rejected, GARBAGE.items(), strict=True):
        assert (d.data, d.reason, d.fields) == (data, reason, {}), d.detail
        assert f"rejected: {reason}" in format_frame(d)


def test_dissect_pcapng_with_both_bearers(mission: Mission, tmp_path: Path) -> None:
    """pcapng carries a link type per packet: UDP (DLT_IPV4) and 147 in one file."""
    udp = build_frames(mission, tag_len=16)[:3]
    radio = build_frames(mission, tag_len=4)[3:6]
    packets = [udp_packet(b.frame, T0 + i) for i, b in enumerate(udp)]
    packets += [narrowband_packet(b.frame, T0 + 3 + i) for i, b in enumerate(radio)]
    packets.append(narrowband_packet(b"\xc0\x00", T0 + 6))
    path = tmp_path / "both.pcapng"
    wrpcapng(str(path), packets)

    out = list(dissect_pcap(path))
    for i, b in enumerate(udp):
        assert_dissected(out[i], b, i + 1, UDP_BEARER)
    for i, b in enumerate(radio):
        assert_dissected(out[3 + i], b, 4 + i, "narrowband")
    assert (out[6].bearer, out[6].reason) == ("narrowband", "bad_version")


def test_tag_len_override_and_port(mission: Mission, tmp_path: Path) -> None:
    b = build_frames(mission, tag_len=8)[0]
    path = tmp_path / "port.pcap"
    wrpcap(str(path), [udp_packet(b.frame, T0, sport=5000, dport=5001)])
    assert list(dissect_pcap(path)) == []
    (d,) = dissect_pcap(path, udp_port=5001, tag_len=8)
    assert d.bearer == "udp 127.0.0.1:5000->127.0.0.1:5001"
    assert d.tag == b.frame[-8:]
    assert d.fields == header_dict(b.header)


def test_keyring_decrypts_and_decodes_bodies(mission: Mission, tmp_path: Path) -> None:
    built = {b.name: b for b in build_frames(mission, tag_len=16)}
    path = tmp_path / "keyed.pcap"
    wrpcap(str(path), [udp_packet(b.frame, T0 + i) for i, b in enumerate(built.values())])

    plain = {d.number: d for d in dissect_pcap(path)}
    assert all(d.body is None and d.body_note == "" for d in plain.values())

    out = dict(zip(built, dissect_pcap(path, keyring=mission.keyring), strict=True))
    assert out["plain"].body == 'Text {body: "hello from 0x0101"}'
    assert "body Text" in format_frame(out["plain"])
    assert out["broadcast position"].body is not None
    assert "PositionReport(lat_e5=3123450" in out["broadcast position"].body
    sos = out["signed sos (e2e)"]
    assert sos.body == "Sos {sos_id: 1 kind: SOS_TRAPPED}"
    assert sos.body_note == "end-to-end signature not checked"
    sealed = out["sealed text (e2e)"]
    assert sealed.body is None
    assert sealed.body_note == f"sealed end-to-end to {format_address(RELAY)}"
    assert out[PHASE1].body is None
    assert out[PHASE1].body_note.startswith("not decoded: unknown_epoch")

    wrong = dict(zip(built, dissect_pcap(path, tag_len=8, keyring=mission.keyring), strict=True))
    del wrong[PHASE1]
    assert all(d.body_note.startswith("not decoded: bad_tag") for d in wrong.values())


# --- packaging and tools ---------------------------------------------------------------------


def test_import_is_quiet_and_scapy_stays_in_its_module() -> None:
    quiet = subprocess.run(
        [sys.executable, "-c", "import tacmesh.protocol.scapy_layer"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (quiet.stdout, quiet.stderr) == ("", "")
    codec_only = (
        "import sys, tacmesh.protocol.codec, tacmesh.protocol.fragment, tacmesh.protocol.messages;"
        "assert not [m for m in sys.modules if m.startswith('scapy')]"
    )
    subprocess.run([sys.executable, "-c", codec_only], check=True)


def test_tshark_reads_the_capture(mission: Mission, tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed: the capture is checked with scapy only")
    built = build_frames(mission, tag_len=16)
    path = tmp_path / "tshark.pcap"
    wrpcap(str(path), [udp_packet(b.frame, T0 + i) for i, b in enumerate(built)])
    result = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "udp.dstport", "-e", "udp.length"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows == [[str(PORT), str(8 + len(b.frame))] for b in built]
