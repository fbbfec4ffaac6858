"""JSON forms of headers and bodies, as conformance vectors write them (SPEC.md §12).

Enums are written by name, absent optional fields are left out, protobuf bodies use the
protobuf JSON mapping, so a second implementation can read the vectors without Python.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message as PbMessage

from tacmesh.protocol import compact
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.messages import COMPACT_BODIES, PROTOBUF_BODIES, Body
from tacmesh.protocol.priority import Priority

_HEADER_ENUMS: dict[str, type[Enum]] = {"type": FrameType, "priority": Priority}
_COMPACT_ENUMS: dict[str, type[Enum]] = {
    "datum": compact.Datum,
    "source": compact.FixSource,
    "state": compact.ResponderState,
    "motion": compact.Motion,
}


def _plain(obj: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None or value is False:
            continue
        out[f.name] = value.name if isinstance(value, Enum) else value
    return out


def header_to_json(h: Header) -> dict[str, Any]:
    return _plain(h)


def header_from_json(d: dict[str, Any]) -> Header:
    fields: dict[str, Any] = {
        k: _HEADER_ENUMS[k][v] if k in _HEADER_ENUMS else v for k, v in d.items()
    }
    return Header(**fields)


def body_to_json(body: Body) -> dict[str, Any]:
    if isinstance(body, PbMessage):
        return json_format.MessageToDict(body, preserving_proto_field_name=True)
    return _plain(body)


def body_from_json(ftype: FrameType, d: dict[str, Any]) -> Body:
    compact_cls = COMPACT_BODIES.get(ftype)
    if compact_cls is None:
        message: PbMessage = json_format.ParseDict(d, PROTOBUF_BODIES[ftype]())
        return message
    fields: dict[str, Any] = {
        k: _COMPACT_ENUMS[k][v] if k in _COMPACT_ENUMS else v for k, v in d.items()
    }
    return compact_cls(**fields)
