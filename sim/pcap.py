"""Captures of simulated frames, for Wireshark/tshark and ``tacmesh protocol dissect``.

The simulator calls :meth:`PcapWriter.frame` for every frame a chosen node sends or
receives. Two classic pcap files (one link type each, so every reader copes):

* ``frames-narrowband.pcap``: LoRa and satellite frames, link type 147 (DLT_USER0), the raw
  frame bytes and nothing else, exactly as ``tacmesh.protocol.scapy_layer`` reads them.
* ``frames-ip.pcap``: every other bearer, as Ethernet/IPv4/UDP datagrams on the protocol's
  port with the frame as payload. Addresses are synthetic: node ``n`` is 198.18.<n>>8>.<n&255>
  (RFC 2544's benchmarking range, so nobody mistakes them for a real network) with MAC
  02:00:c6:12:<n>>8>:<n&255> (locally administered; c6:12 is 198.18).

Files are written with ``struct`` (building a scapy packet per frame would be slow over a
long run) and only when a frame arrives for them. Timestamps are integer microseconds,
computed without summing floats so that the capture shows the simulator's times exactly.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from tacmesh.protocol.scapy_layer import DLT_TACMESH_NARROWBAND, TACMESH_UDP_PORT

NARROWBAND: Final = "narrowband"
IP: Final = "ip"
TX: Final = "tx"
RX: Final = "rx"
FILE_NAMES: Final = {NARROWBAND: "frames-narrowband.pcap", IP: "frames-ip.pcap"}

DLT_EN10MB: Final = 1
_LINK_TYPES: Final = {NARROWBAND: DLT_TACMESH_NARROWBAND, IP: DLT_EN10MB}
_PCAP_MAGIC_US: Final = 0xA1B2C3D4
"""Classic pcap with microsecond timestamps (the most widely read variant)."""
_SNAPLEN: Final = 262_144
_MAX_UDP_PAYLOAD: Final = 65_535 - 20 - 8
_ETHERTYPE_IPV4: Final = 0x0800
_IPPROTO_UDP: Final = 17
_TTL: Final = 64
_BROADCAST_IP: Final = bytes([255, 255, 255, 255])
_UNKNOWN_IP: Final = bytes(4)
_BROADCAST_MAC: Final = b"\xff" * 6
_UNKNOWN_MAC: Final = bytes(6)
_MAX_NODE: Final = 0xFFFF


def node_ip(node: int) -> bytes:
    """The synthetic IPv4 address of ``node``: 198.18.<node>>8>.<node&255>."""
    _check_node(node)
    return bytes([198, 18, node >> 8, node & 0xFF])


def node_mac(node: int) -> bytes:
    """The synthetic MAC of ``node``: locally administered, ending in its address."""
    _check_node(node)
    return bytes([0x02, 0x00, 198, 18, node >> 8, node & 0xFF])


def _check_node(node: int) -> None:
    if not 0 <= node <= _MAX_NODE:
        raise ValueError(f"node address {node:#x} does not fit in 16 bits")


def timestamp_us(start_epoch: float, t_s: float) -> int:
    """Microseconds since the Unix epoch of simulated time ``t_s``.

    Each part is rounded on its own: summing first would lose sub-microsecond precision
    in the large epoch and could shift a frame by a microsecond.
    """
    return round(start_epoch * 1_000_000) + round(t_s * 1_000_000)


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_datagram(src: bytes, dst: bytes, payload: bytes, ident: int) -> bytes:
    """IPv4 + UDP (port 4880 both ways) around ``payload``, with valid checksums."""
    if len(payload) > _MAX_UDP_PAYLOAD:
        raise ValueError(f"a {len(payload)}-byte frame does not fit in one UDP datagram")
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, _IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", TACMESH_UDP_PORT, TACMESH_UDP_PORT, udp_len, 0) + payload
    udp_sum = _checksum(pseudo + udp) or 0xFFFF  # 0 would mean "no checksum" (RFC 768)
    udp = udp[:6] + struct.pack("!H", udp_sum) + udp[8:]
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident & 0xFFFF, 0, _TTL, _IPPROTO_UDP, 0, src, dst
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + udp


class PcapWriter:
    """Writes the frames the simulator hands it into ``directory``; see the module doc.

    ``direction`` is ``"tx"`` (``node`` sent the frame to ``peer``; ``None`` = a broadcast)
    or ``"rx"`` (``node`` received it from ``peer``; ``None`` = sender unknown, shown as
    0.0.0.0). The narrowband capture holds the bare frame, so it shows neither.
    """

    def __init__(self, directory: Path, start_epoch: float) -> None:
        self.directory = directory
        self.start_epoch = start_epoch
        self._files: dict[str, BinaryIO] = {}
        self._paths: list[Path] = []
        self._ip_ident = 0

    def frame(  # noqa: PLR0917 - the simulator's call, fixed by the results format
        self,
        t_s: float,
        node: int,
        interface_kind: str,
        data: bytes,
        direction: str,
        peer: int | None,
    ) -> None:
        """Record one frame seen by ``node`` at ``t_s`` seconds from the scenario start."""
        if direction not in (TX, RX):
            raise ValueError(f"direction must be {TX!r} or {RX!r}, not {direction!r}")
        if interface_kind == NARROWBAND:
            record = data
        elif interface_kind == IP:
            record = self._ethernet(node, data, direction, peer)
        else:
            raise ValueError(f"interface kind must be {NARROWBAND!r} or {IP!r}")
        when = timestamp_us(self.start_epoch, t_s)
        if when < 0:
            raise ValueError(f"frame time {t_s} s is before the Unix epoch")
        sec, usec = divmod(when, 1_000_000)
        out = self._file(interface_kind)
        out.write(struct.pack("<IIII", sec, usec, len(record), len(record)))
        out.write(record)

    def close(self) -> list[Path]:
        """Flush and close; the paths of the files written (only kinds that had frames)."""
        for out in self._files.values():
            out.close()
        self._files.clear()
        return list(self._paths)

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _file(self, kind: str) -> BinaryIO:
        out = self._files.get(kind)
        if out is None:
            path = self.directory / FILE_NAMES[kind]
            out = path.open("wb")
            out.write(
                struct.pack("<IHHiIII", _PCAP_MAGIC_US, 2, 4, 0, 0, _SNAPLEN, _LINK_TYPES[kind])
            )
            self._files[kind] = out
            self._paths.append(path)
        return out

    def _ethernet(self, node: int, data: bytes, direction: str, peer: int | None) -> bytes:
        here_ip, here_mac = node_ip(node), node_mac(node)
        if direction == TX:
            there_ip, there_mac = (
                (_BROADCAST_IP, _BROADCAST_MAC) if peer is None else (node_ip(peer), node_mac(peer))
            )
            src_ip, src_mac, dst_ip, dst_mac = here_ip, here_mac, there_ip, there_mac
        else:
            there_ip, there_mac = (
                (_UNKNOWN_IP, _UNKNOWN_MAC) if peer is None else (node_ip(peer), node_mac(peer))
            )
            src_ip, src_mac, dst_ip, dst_mac = there_ip, there_mac, here_ip, here_mac
        self._ip_ident += 1
        datagram = udp_datagram(src_ip, dst_ip, data, self._ip_ident)
        return dst_mac + src_mac + struct.pack("!H", _ETHERTYPE_IPV4) + datagram
