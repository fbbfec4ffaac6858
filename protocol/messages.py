"""Message bodies by frame type (SPEC.md §6): encode, decode, and which need a signature.

A body is what the payload holds once hop protection (and any end-to-end envelope) is
removed: a compact layout for position/status/vitals, protobuf bytes for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from google.protobuf.message import Message as PbMessage

from tacmesh.protocol.compact import PositionReport, StatusReport, VitalSigns
from tacmesh.protocol.crypto.certificates import Permission, parse_pb
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.heard import check as check_heard
from tacmesh.protocol.pb import control_pb2, messages_pb2, security_pb2

Body = PositionReport | StatusReport | VitalSigns | PbMessage

COMPACT_BODIES: dict[FrameType, type[PositionReport] | type[StatusReport] | type[VitalSigns]] = {
    FrameType.POSITION: PositionReport,
    FrameType.STATUS: StatusReport,
    FrameType.VITALS: VitalSigns,
}

PROTOBUF_BODIES: dict[FrameType, type[PbMessage]] = {
    FrameType.HELLO: control_pb2.Hello,
    FrameType.ROUTE_UPDATE: control_pb2.RouteUpdate,
    FrameType.ROUTE_REQUEST: control_pb2.RouteRequest,
    FrameType.CUSTODY_ACK: control_pb2.CustodyAck,
    FrameType.CERTIFICATE: security_pb2.Signed,
    FrameType.REVOCATION: security_pb2.Signed,
    FrameType.KEY_UPDATE: security_pb2.Signed,
    FrameType.MGMT_REPORT: control_pb2.MgmtReport,
    FrameType.MGMT_CONFIG: control_pb2.MgmtConfig,
    FrameType.SOS: messages_pb2.Sos,
    FrameType.SOS_ACK: messages_pb2.SosAck,
    FrameType.TEXT: messages_pb2.Text,
    FrameType.SENSOR: messages_pb2.SensorReading,
    FrameType.ORDER: messages_pb2.Order,
    FrameType.ORDER_ACK: messages_pb2.OrderAck,
    FrameType.DELIVERY_ACK: messages_pb2.DeliveryAck,
    FrameType.BULK: messages_pb2.Bulk,
}


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """A type that MUST be end-to-end signed, and the permission its signer needs."""

    permission: Permission


MUST_SIGN: dict[FrameType, SignaturePolicy] = {
    FrameType.SOS: SignaturePolicy(Permission.SEND),
    FrameType.ORDER: SignaturePolicy(Permission.ISSUE_ORDERS),
    FrameType.MGMT_CONFIG: SignaturePolicy(Permission.REMOTE_CONFIG),
}


def body_class(ftype: FrameType) -> Callable[..., Body]:
    if ftype in COMPACT_BODIES:
        return COMPACT_BODIES[ftype]
    if ftype in PROTOBUF_BODIES:
        return PROTOBUF_BODIES[ftype]
    raise ValueError(f"{ftype.name} frames have no body of their own")


def encode_body(ftype: FrameType, body: Body) -> bytes:
    expected = body_class(ftype)
    if not isinstance(body, expected):  # type: ignore[arg-type]
        raise TypeError(f"{ftype.name} takes {expected.__name__}, not {type(body).__name__}")
    if isinstance(body, PbMessage):
        return body.SerializeToString()
    return body.encode()


def decode_body(ftype: FrameType, payload: bytes) -> Body:
    """Decode ``payload`` as the body of ``ftype``; any failure is MALFORMED_BODY or finer."""
    decode = _DECODERS.get(ftype)
    if decode is None:
        raise FrameError(Reject.UNKNOWN_TYPE, f"{ftype.name} has no body")
    return decode(payload)


def _decoders() -> dict[FrameType, Callable[[bytes], Body]]:
    """Frame type -> the function that decodes its body. Built once: the frame type's name
    (which a protobuf error quotes) costs as much to look up as a small body to parse."""
    out: dict[FrameType, Callable[[bytes], Body]] = {}
    for ftype, cls in PROTOBUF_BODIES.items():
        out[ftype] = partial(parse_pb, cls, what=ftype.name.lower())
    for ftype, compact in COMPACT_BODIES.items():
        out[ftype] = compact.decode
    out[FrameType.HELLO] = partial(_hello, out[FrameType.HELLO])
    return out


def _hello(parse: Callable[[bytes], Body], payload: bytes) -> Body:
    hello = parse(payload)
    assert isinstance(hello, control_pb2.Hello)
    check_heard(hello.heard)  # a bytes field: protobuf cannot tell a torn entry
    return hello


_DECODERS = _decoders()
