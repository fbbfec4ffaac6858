"""Message bodies as JSON for applications (PROTOCOL.md), to and from the wire's forms.

Every body is written as the protobuf JSON mapping of its API-side message (field names
as in ``protocol/proto/messages.proto``): position, status and vitals use the protobuf
forms that ``protocol/convert.py`` turns into the compact wire layouts, the others are
their own protobuf. For people typing at a shell, a position (and an SOS's position) may
also be given as ``lat``/``lon`` in degrees.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message as PbMessage

from tacmesh.protocol import convert
from tacmesh.protocol.compact import PositionReport, StatusReport, VitalSigns
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.messages import PROTOBUF_BODIES, Body
from tacmesh.protocol.pb import messages_pb2 as pb

M = TypeVar("M", bound=PbMessage)

APP_TYPES: dict[str, FrameType] = {
    t.name.lower(): t
    for t in FrameType
    if t >= FrameType.POSITION  # 16 and above carry an application's message (SPEC.md §4.2)
}


class BodyError(ValueError):
    """The body does not fit its type; the message says which field and how."""


def frame_type(name: object) -> FrameType:
    if not isinstance(name, str) or name.lower() not in APP_TYPES:
        raise BodyError(f"unknown message type {name!r}; use one of {sorted(APP_TYPES)}")
    return APP_TYPES[name.lower()]


def body_from_json(ftype: FrameType, data: object, now: float) -> Body:
    if not isinstance(data, dict):
        raise BodyError("body must be a JSON object")
    data = dict(data)
    if ftype == FrameType.POSITION:
        return convert.position_from_pb(_position(data), now=int(now))
    if ftype == FrameType.STATUS:
        return convert.status_from_pb(_parse(pb.Status(), data))
    if ftype == FrameType.VITALS:
        return convert.vitals_from_pb(_parse(pb.VitalSigns(), data))
    if ftype == FrameType.SOS and isinstance(data.get("position"), dict):
        compact = convert.position_from_pb(_position(dict(data["position"])), now=int(now))
        data["position"] = ""
        sos = _parse(pb.Sos(), data)
        sos.position = compact.encode()
        return sos
    return _parse(PROTOBUF_BODIES[ftype](), data)


def body_to_json(ftype: FrameType, body: Body, created_at: float) -> dict[str, Any]:
    """``created_at``: when the message was made (arrival minus its age), for fix times."""
    if isinstance(body, PositionReport):
        return _with_degrees(_dict(convert.position_to_pb(body, created_at=int(created_at))))
    if isinstance(body, StatusReport):
        return _dict(convert.status_to_pb(body))
    if isinstance(body, VitalSigns):
        return _dict(convert.vitals_to_pb(body))
    out = _dict(body)
    if isinstance(body, pb.Sos) and body.position:
        try:
            report = PositionReport.decode(body.position)
            out["position"] = body_to_json(FrameType.POSITION, report, created_at)
        except ValueError:
            pass  # leave it as the base64 the JSON mapping gives
    return out


def _position(data: dict[str, Any]) -> pb.Position:
    for key, field in (("lat", "lat_e7"), ("lon", "lon_e7")):
        if key in data:
            value = data.pop(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BodyError(f"{key} must be a number of degrees")
            data[field] = round(value * 1e7)
    if not -900_000_000 <= data.get("lat_e7", 0) <= 900_000_000:
        raise BodyError("lat must be within -90..90 degrees")
    if not -1_800_000_000 <= data.get("lon_e7", 0) <= 1_800_000_000:
        raise BodyError("lon must be within -180..180 degrees")
    return _parse(pb.Position(), data)


def _parse(message: M, data: dict[str, Any]) -> M:
    try:
        return json_format.ParseDict(data, message)
    except json_format.ParseError as exc:
        raise BodyError(f"{type(message).__name__}: {exc}") from None


def _dict(message: PbMessage) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _with_degrees(out: dict[str, Any]) -> dict[str, Any]:
    out["lat"] = int(out.get("lat_e7", 0)) / 1e7
    out["lon"] = int(out.get("lon_e7", 0)) / 1e7
    return out
