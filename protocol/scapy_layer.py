# sans-io: exempt (dissection only)
"""Scapy layers for tacmesh frames, so captures can be read with scapy (and the CLI).

This is the only module in ``tacmesh.protocol`` that imports scapy: the rest of the package
stays light and sans-I/O. The layers here describe the wire layout of ``header.py`` and
``fragment.py`` for display and for building test frames; they never decide whether a frame
is acceptable (that is the codec's job, and ``dissect.py`` asks it). The tests check that
both build and dissect the same bytes.

* ``TacMesh``: the frame header, then ``ciphertext`` and ``tag``. The tag length is not in
  the frame (it belongs to the bearer), so it comes from the class attribute
  ``tag_len_default`` (16, the UDP tag) unless given per instance: ``TacMesh(data,
  tag_len=8)``; ``pkt.tag_len`` reads it. Flags X, O, A, L left unset are implied on build.
* ``TacMeshNarrowband``: the same with the 4-byte narrowband tag; link type 147
  (DLT_USER0) maps to it.
* ``TacMeshFragment``: type 15 frames, chosen by ``dispatch_hook`` from the type bits.
* ``TacMeshTruncated``: bytes too short for the header they announce, so dissection of a
  capture never fails on garbage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from scapy.config import conf
from scapy.fields import (
    BitEnumField,
    BitField,
    ByteField,
    ConditionalField,
    Field,
    IntField,
    ShortField,
    StrField,
)
from scapy.layers.inet import UDP
from scapy.packet import Packet, Raw, bind_bottom_up, bind_top_down
from scapy.utils import PcapReader

from tacmesh.protocol.addresses import ALL_HANDS, format_address, parse_address
from tacmesh.protocol.crypto.suite import IP_TAG_LEN, NARROWBAND_TAG_LEN
from tacmesh.protocol.fragment import FRAGMENT_HEADER_LEN
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import BASE_HEADER_LEN, EXT_AGE, EXT_LIFETIME, EXT_ORIGIN, VERSION
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.varint import encode_varint

TACMESH_UDP_PORT = 4880
DLT_TACMESH_NARROWBAND = 147
"""DLT_USER0: the link type of simulated narrowband captures (the raw frame, no framing)."""
_MAX_VARINT_BYTES = 5
_ORIGIN_LEN = 6

_TYPE_NAMES = {int(t): t.name for t in FrameType}
_PRIORITY_NAMES = {int(p): p.name for p in Priority}


def read_leb128(buf: bytes, pos: int) -> tuple[int, int]:
    """Leniently read the varint at ``pos``: ``(value, next_pos)``.

    A dissector shows what is on the wire, so this never raises: a varint that runs past the
    end stops there, and non-minimal forms are accepted (``varint.decode_varint`` rejects
    them). On a valid frame it consumes exactly the bytes the codec does.
    """
    value = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            return value, len(buf)
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    return value, pos + _MAX_VARINT_BYTES


class LEB128Field(Field[int | None, int | None]):
    """Unsigned LEB128 integer (SPEC.md §4.4); builds with the codec's encoder."""

    def __init__(self, name: str, default: int | None) -> None:
        super().__init__(name, default, fmt="B")

    def i2len(self, pkt: Packet | None, x: int | None) -> int:
        return len(encode_varint(x or 0))

    def addfield(self, pkt: Packet | None, s: bytes, val: int | None) -> bytes:
        return s + encode_varint(val or 0)

    def getfield(self, pkt: Packet | None, s: bytes) -> tuple[bytes, int]:
        value, end = read_leb128(s, 0)
        return s[end:], value


class AddressField(ShortField):
    """A 16-bit tacmesh address, shown as ``format_address`` shows it (``team:3``, ``all``)
    and settable from that text form too."""

    def i2repr(self, pkt: Packet | None, x: int | None) -> str:
        return "None" if x is None else format_address(x)

    def any2i(self, pkt: Packet | None, x: Any) -> Any:
        return parse_address(x) if isinstance(x, str) else super().any2i(pkt, x)


class ImpliedBitField(BitField):
    """A flag left as ``None`` is set on build when the fields it announces are present, so
    ``TacMesh(origin=..., msg_id=...)`` builds a correct extension byte by itself."""

    __slots__ = ["implied"]

    def __init__(self, name: str, size: int, implied: Callable[[Packet], bool]) -> None:
        super().__init__(name, None, size)
        self.implied = implied

    def i2m(self, pkt: Packet | None, x: int | None) -> int:
        if x is None:
            return int(pkt is not None and self.implied(pkt))
        return x


class _CiphertextField(StrField):
    """Everything after the header except the last ``pkt.tag_len`` bytes (the hop tag)."""

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, bytes]:
        cut = max(len(s) - pkt.tag_len, 0)
        return s[cut:], s[:cut]


def _present(*names: str) -> Callable[[Packet], bool]:
    return lambda pkt: any(pkt.getfieldval(n) is not None for n in names)


def _flag(name: str, implied: Callable[[Packet], bool]) -> Callable[[Packet], bool]:
    """The effective value of a flag: as set or dissected, else implied by its fields."""

    def effective(pkt: Packet) -> bool:
        value = pkt.getfieldval(name)
        return implied(pkt) if value is None else bool(value)

    return effective


_has_origin = _flag("O", _present("origin", "msg_id"))
_has_age = _flag("A", _present("age_s"))
_has_lifetime = _flag("L", _present("lifetime_s"))


def _ext_implied(pkt: Packet) -> bool:
    return (
        _has_origin(pkt)
        or _has_age(pkt)
        or _has_lifetime(pkt)
        or bool(pkt.getfieldval("C"))
        or bool(pkt.getfieldval("E"))
    )


_has_ext = _flag("X", _ext_implied)


def _ext(field: Field[Any, Any], cond: Callable[[Packet], bool] = _has_ext) -> ConditionalField:
    return ConditionalField(field, cond)


def announced_header_len(data: bytes) -> int | None:
    """Length of the (non-fragment) header that ``data`` announces, or ``None`` when ``data``
    is too short to hold it. Mirrors the layout in ``header.py`` without validating it."""
    if len(data) < BASE_HEADER_LEN:
        return None
    if not data[0] & 1:
        return BASE_HEADER_LEN
    if len(data) == BASE_HEADER_LEN:
        return None
    ext, pos = data[BASE_HEADER_LEN], BASE_HEADER_LEN + 1
    if ext & EXT_ORIGIN:
        pos += _ORIGIN_LEN
    for flag in (EXT_AGE, EXT_LIFETIME):
        if ext & flag:
            if pos >= len(data):
                return None
            _, pos = read_leb128(data, pos)
    return pos if pos <= len(data) else None


def frame_class(data: bytes | None, default: type[Packet]) -> type[Packet]:
    """The layer for ``data``: fragment by its type bits, truncated if too short."""
    if not data:
        return default
    if (data[0] >> 1) & 0x1F == FrameType.FRAGMENT:
        return TacMeshFragment if len(data) >= FRAGMENT_HEADER_LEN else TacMeshTruncated
    return default if announced_header_len(data) is not None else TacMeshTruncated


class _TacMeshFrame(Packet):
    """Common base: accepts ``tag_len=`` so one instance can use another bearer's tag."""

    __slots__ = ["_tag_len"]
    tag_len_default = IP_TAG_LEN

    def __init__(self, _pkt: bytes = b"", *args: Any, tag_len: int | None = None, **kw: Any):
        object.__setattr__(self, "_tag_len", self.tag_len_default if tag_len is None else tag_len)
        super().__init__(_pkt, *args, **kw)

    @property
    def tag_len(self) -> int:
        """Hop tag length in bytes; set by the bearer, not carried in the frame."""
        return int(self._tag_len)


def _dispatch(cls: type[Packet], _pkt: bytes | None = None, *args: Any, **kw: Any) -> type[Packet]:
    return frame_class(_pkt, cls)


class TacMesh(_TacMeshFrame):
    """A tacmesh frame: cleartext header (header.py), ciphertext, hop tag."""

    name = "TacMesh"
    fields_desc = [  # noqa: RUF012 (scapy's own convention)
        BitField("version", VERSION, 2),
        BitEnumField("type", FrameType.TEXT, 5, _TYPE_NAMES),
        ImpliedBitField("X", 1, _ext_implied),
        BitEnumField("priority", Priority.TEXT, 3, _PRIORITY_NAMES),
        BitField("hop_limit", 8, 4),
        BitField("key_phase", 0, 1),
        AddressField("transmitter", 1),
        IntField("counter", 0),
        AddressField("destination", ALL_HANDS),
        AddressField("next_hop", ALL_HANDS),
        _ext(ImpliedBitField("O", 1, _present("origin", "msg_id"))),
        _ext(ImpliedBitField("A", 1, _present("age_s"))),
        _ext(ImpliedBitField("L", 1, _present("lifetime_s"))),
        _ext(BitField("C", 0, 1)),
        _ext(BitField("E", 0, 1)),
        _ext(BitField("reserved", 0, 3)),
        _ext(AddressField("origin", None), _has_origin),
        _ext(IntField("msg_id", None), _has_origin),
        _ext(LEB128Field("age_s", None), _has_age),
        _ext(LEB128Field("lifetime_s", None), _has_lifetime),
        _CiphertextField("ciphertext", b""),
        StrField("tag", b""),
    ]

    # scapy consults dispatch_hook only when it is in the class's own __dict__
    # (Packet_metaclass.__call__), so a subclass must restate it.
    dispatch_hook = classmethod(_dispatch)

    @property
    def payload_and_tag(self) -> bytes:
        """The bytes after the header, as hop.open_frame takes them."""
        return bytes(self.ciphertext or b"") + bytes(self.tag or b"")

    def mysummary(self) -> str:
        return self.sprintf(
            "TacMesh %type% %transmitter%>%destination% via %next_hop% ctr=%counter%"
        )


class TacMeshNarrowband(TacMesh):
    """A tacmesh frame on a narrowband radio: 4-byte tag; link type 147 in sim captures."""

    name = "TacMesh (narrowband)"
    tag_len_default = NARROWBAND_TAG_LEN
    dispatch_hook = classmethod(_dispatch)


class TacMeshFragment(_TacMeshFrame):
    """A fragment frame (fragment.py): a piece of a protected frame, no tag of its own."""

    name = "TacMesh fragment"
    tag_len_default = 0
    fields_desc = [  # noqa: RUF012
        BitField("version", VERSION, 2),
        BitEnumField("type", FrameType.FRAGMENT, 5, _TYPE_NAMES),
        BitField("X", 0, 1),
        BitEnumField("priority", Priority.BULK, 3, _PRIORITY_NAMES),
        BitField("reserved", 0, 5),
        AddressField("transmitter", 1),
        ByteField("datagram_tag", 0),
        ByteField("index", 0),
        ByteField("count", 1),
        StrField("chunk", b""),
    ]

    def mysummary(self) -> str:
        return self.sprintf("TacMesh fragment %transmitter% tag=%datagram_tag% %index%/%count%")


class TacMeshTruncated(_TacMeshFrame):
    """Bytes on a tacmesh port or link too short for the header they announce."""

    name = "TacMesh (truncated)"
    tag_len_default = 0
    fields_desc = [StrField("data", b"")]  # noqa: RUF012


FRAME_LAYERS = (TacMesh, TacMeshFragment, TacMeshTruncated)

for _port_field in ("sport", "dport"):
    bind_bottom_up(UDP, TacMesh, **{_port_field: TACMESH_UDP_PORT})
for _layer in (TacMesh, TacMeshFragment):
    bind_top_down(UDP, _layer, sport=TACMESH_UDP_PORT, dport=TACMESH_UDP_PORT)
# Reading: link type 147 dissects as TacMeshNarrowband (which dispatches fragments).
# Writing: a bare narrowband, fragment or truncated frame is written as link type 147.
conf.l2types.register(DLT_TACMESH_NARROWBAND, TacMeshNarrowband)
conf.l2types.register_layer2num(DLT_TACMESH_NARROWBAND, TacMeshFragment)
conf.l2types.register_layer2num(DLT_TACMESH_NARROWBAND, TacMeshTruncated)


class CapturedFrame(NamedTuple):
    """One tacmesh frame found in a capture, with the tag length its bearer uses."""

    number: int
    """1-based packet number in the capture file, as Wireshark counts."""
    time: float
    bearer: str
    data: bytes
    tag_len: int


def read_capture(path: str, *, udp_port: int = TACMESH_UDP_PORT) -> Iterator[CapturedFrame]:
    """Every tacmesh frame in a pcap or pcapng file: UDP datagrams to or from ``udp_port``
    and link-type-147 packets. Other packets are skipped."""
    with PcapReader(path) as reader:
        linktype = getattr(reader, "linktype", None)  # pcap only; pcapng has one per block
        for number, pkt in enumerate(reader, 1):
            found = _frame_in(pkt, udp_port, linktype)
            if found is not None:
                bearer, data, tag_len = found
                yield CapturedFrame(number, float(pkt.time), bearer, data, tag_len)


def _frame_in(pkt: Packet, udp_port: int, linktype: int | None) -> tuple[str, bytes, int] | None:
    if isinstance(pkt, FRAME_LAYERS) or (
        isinstance(pkt, Raw) and linktype == DLT_TACMESH_NARROWBAND
    ):
        return "narrowband", bytes(pkt), NARROWBAND_TAG_LEN
    udp = pkt.getlayer(UDP)
    if udp is None or udp_port not in (udp.sport, udp.dport):
        return None
    ip = udp.underlayer
    src, dst = getattr(ip, "src", "?"), getattr(ip, "dst", "?")
    bearer = f"udp {src}:{udp.sport}->{dst}:{udp.dport}"
    return bearer, bytes(udp.payload), IP_TAG_LEN
