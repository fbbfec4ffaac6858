"""Read tacmesh frames out of a capture and describe them (``tacmesh protocol dissect``).

scapy (through ``scapy_layer``) only finds the frames: UDP datagrams on the tacmesh port and
link-type-147 narrowband packets. Each frame is then decoded by the authoritative codec
(``header.decode_header`` / ``fragment.decode_fragment``), so the fields shown are the ones a
node would see, and a frame a node would reject shows the reason (``bad_version``...) instead
of stopping the dump. Payloads are encrypted; with the mission's ``NetworkKeyring`` the
payload is also opened and its body decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from google.protobuf import text_format
from google.protobuf.message import Message as PbMessage

from tacmesh.protocol.addresses import format_address
from tacmesh.protocol.crypto.e2e import SEALED, SIGNED
from tacmesh.protocol.crypto.hop import open_frame
from tacmesh.protocol.crypto.suite import SIGNATURE_LEN
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.fragment import FRAGMENT_HEADER_LEN, decode_fragment
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header, decode_header, peek_type
from tacmesh.protocol.heard import unpack as unpack_heard
from tacmesh.protocol.messages import decode_body
from tacmesh.protocol.pb import control_pb2
from tacmesh.protocol.scapy_layer import TACMESH_UDP_PORT, read_capture

if TYPE_CHECKING:
    from pathlib import Path

    from tacmesh.protocol.crypto.keys import NetworkKeyring

_HEX_SHOWN = 32
"""Bytes of a rejected frame shown in hex; enough to see the header."""


@dataclass(frozen=True, slots=True)
class DissectedFrame:
    """One frame from a capture, decoded by the codec (or the reason it was rejected)."""

    number: int
    """1-based packet number in the capture, as Wireshark counts."""
    time: float
    bearer: str
    """``udp SRC:PORT->DST:PORT`` or ``narrowband``."""
    data: bytes
    fields: dict[str, object] = field(default_factory=dict)
    """Decoded header fields in wire order: every ``Header`` field (``None`` when absent),
    or for a fragment its type and ``Fragment`` fields but the chunk. Empty if rejected."""
    header_len: int = 0
    tag: bytes = b""
    reason: str | None = None
    """The ``Reject`` name (``bad_version``...) when the codec refuses the frame."""
    detail: str = ""
    body: str | None = None
    """The decoded message, when a keyring was given and the payload opened."""
    body_note: str = ""
    """Why there is no body, or what was not checked (an end-to-end signature)."""

    @property
    def payload_len(self) -> int:
        """Ciphertext bytes (a fragment's chunk), without header or tag."""
        return max(len(self.data) - self.header_len - len(self.tag), 0)


def dissect_pcap(
    path: str | Path,
    *,
    udp_port: int = TACMESH_UDP_PORT,
    tag_len: int | None = None,
    keyring: NetworkKeyring | None = None,
) -> Iterator[DissectedFrame]:
    """Yield every tacmesh frame in the capture at ``path`` (pcap or pcapng).

    ``tag_len`` overrides the bearer's tag length (16 on UDP, 4 on narrowband); ``keyring``
    lets the payload be decrypted and shown.
    """
    for cap in read_capture(str(path), udp_port=udp_port):
        yield dissect_frame(
            cap.data,
            tag_len=cap.tag_len if tag_len is None else tag_len,
            number=cap.number,
            time=cap.time,
            bearer=cap.bearer,
            keyring=keyring,
        )


def dissect_frame(
    data: bytes,
    *,
    tag_len: int,
    number: int = 0,
    time: float = 0.0,
    bearer: str = "",
    keyring: NetworkKeyring | None = None,
) -> DissectedFrame:
    """Decode one frame with the codec; never raises on bad input."""
    found = DissectedFrame(number, time, bearer, data)
    try:
        if peek_type(data) is FrameType.FRAGMENT:
            frag = decode_fragment(data)
            values: dict[str, object] = {"type": FrameType.FRAGMENT}
            values.update({f.name: getattr(frag, f.name) for f in fields(frag)})
            del values["chunk"]
            return replace(
                found,
                fields=values,
                header_len=FRAGMENT_HEADER_LEN,
                body_note="" if keyring is None else "a fragment: reassemble to decrypt",
            )
        header, hlen = decode_header(data)
        if len(data) - hlen < tag_len:
            raise FrameError(Reject.TRUNCATED, f"no room for the {tag_len}-byte tag")
    except FrameError as err:
        return replace(found, reason=err.reason.name.lower(), detail=err.detail)
    body, note = (None, "") if keyring is None else _open(data, header, keyring, tag_len)
    return replace(
        found,
        fields={f.name: getattr(header, f.name) for f in fields(header)},
        header_len=hlen,
        tag=data[len(data) - tag_len :],
        body=body,
        body_note=note,
    )


def _open(
    data: bytes, header: Header, keyring: NetworkKeyring, tag_len: int
) -> tuple[str | None, str]:
    """Decrypt with the hop key and decode the body; an end-to-end signature is skipped
    (it needs the sender's certificate) and a sealed payload stays closed."""
    try:
        payload = open_frame(data, keyring, tag_len).payload
        note = ""
        if header.e2e:
            mode = payload[0] if payload else 0
            if mode & SEALED:
                return None, f"sealed end-to-end to {format_address(header.destination)}"
            payload = payload[1:-SIGNATURE_LEN] if mode & SIGNED else payload[1:]
            note = "end-to-end signature not checked" if mode & SIGNED else ""
        return _body_text(decode_body(header.type, payload)), note
    except FrameError as err:
        return None, f"not decoded: {err}"


def _body_text(body: object) -> str:
    if isinstance(body, control_pb2.Hello) and body.heard:
        # The packed heard list (SPEC.md §8.1.1) read as neighbours, not escaped bytes.
        rest = control_pb2.Hello()
        rest.CopyFrom(body)
        rest.ClearField("heard")
        heard = ", ".join(f"{format_address(a)} q{q}" for a, q in unpack_heard(body.heard))
        inner = text_format.MessageToString(rest, as_one_line=True)
        return f"Hello {{{inner} heard: [{heard}]}}"
    if isinstance(body, PbMessage):
        inner = text_format.MessageToString(body, as_one_line=True)
        return f"{type(body).__name__} {{{inner}}}"
    return repr(body)


def format_frame(d: DissectedFrame) -> str:
    """A readable block for one frame: a title line, then the decoded fields."""
    lines = [f"#{d.number} {d.time:.6f} {d.bearer} ({len(d.data)} bytes)"]
    if d.reason is not None:
        lines.append(f"  rejected: {d.reason}" + (f" ({d.detail})" if d.detail else ""))
        more = "..." if len(d.data) > _HEX_SHOWN else ""
        lines.append(f"  data {d.data[:_HEX_SHOWN].hex()}{more}")
        return "\n".join(lines)
    f = d.fields
    type_name = getattr(f["type"], "name", str(f["type"]))
    prio_name = getattr(f["priority"], "name", str(f["priority"]))
    if f["type"] is FrameType.FRAGMENT:
        lines.append(f"  FRAGMENT priority {prio_name}  from {_addr(f['transmitter'])}")
        lines.append(f"  datagram tag {f['datagram_tag']}  piece {f['index']} of {f['count']}")
        lines.append(f"  header {d.header_len} B  chunk {d.payload_len} B  (no tag)")
    else:
        lines.append(
            f"  {type_name} priority {prio_name}  hop limit {f['hop_limit']}"
            f"  key phase {f['key_phase']}  counter {f['counter']}"
        )
        lines.append(
            f"  {_addr(f['transmitter'])} -> {_addr(f['destination'])}"
            f"  next hop {_addr(f['next_hop'])}"
        )
        ext = _ext_text(f)
        if ext:
            lines.append(f"  ext {ext}")
        lines.append(
            f"  header {d.header_len} B  payload {d.payload_len} B"
            f"  tag {len(d.tag)} B {d.tag.hex()}"
        )
    if d.body is not None:
        lines.append(f"  body {d.body}")
    if d.body_note:
        lines.append(f"  note {d.body_note}")
    return "\n".join(lines)


def _addr(value: object) -> str:
    return format_address(value) if isinstance(value, int) else str(value)


def _ext_text(f: dict[str, object]) -> str:
    parts = []
    if f.get("origin") is not None:
        parts.append(f"origin {_addr(f['origin'])} msg id {f['msg_id']}")
    if f.get("age_s") is not None:
        parts.append(f"age {f['age_s']} s")
    if f.get("lifetime_s") is not None:
        parts.append(f"lifetime {f['lifetime_s']} s")
    parts += [name for name in ("custody", "e2e") if f.get(name)]
    return "  ".join(parts)
