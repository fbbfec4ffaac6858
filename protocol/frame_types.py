"""Frame types (SPEC.md §4.2) and the priority class each defaults to (§5).

Types below 16 are network control; 16 and above carry a responder's or command's message.
"""

from __future__ import annotations

from enum import IntEnum

from tacmesh.protocol.priority import Priority


class FrameType(IntEnum):
    HELLO = 1
    ROUTE_UPDATE = 2
    ROUTE_REQUEST = 3
    CUSTODY_ACK = 4
    CERTIFICATE = 5
    REVOCATION = 6
    KEY_UPDATE = 7
    MGMT_REPORT = 8
    MGMT_CONFIG = 9
    FRAGMENT = 15
    POSITION = 16
    STATUS = 17
    VITALS = 18
    SOS = 19
    SOS_ACK = 20
    TEXT = 21
    SENSOR = 22
    ORDER = 23
    ORDER_ACK = 24
    DELIVERY_ACK = 25
    BULK = 26

    @property
    def is_data(self) -> bool:
        return self >= 16


DEFAULT_PRIORITY: dict[FrameType, Priority] = {
    FrameType.HELLO: Priority.CONTROL,
    FrameType.ROUTE_UPDATE: Priority.CONTROL,
    FrameType.ROUTE_REQUEST: Priority.CONTROL,
    FrameType.CUSTODY_ACK: Priority.CONTROL,
    FrameType.CERTIFICATE: Priority.CONTROL,
    FrameType.REVOCATION: Priority.CONTROL,
    FrameType.KEY_UPDATE: Priority.CONTROL,
    FrameType.MGMT_REPORT: Priority.TEXT,
    FrameType.MGMT_CONFIG: Priority.COMMAND,
    FrameType.FRAGMENT: Priority.BULK,
    FrameType.POSITION: Priority.POSITION,
    FrameType.STATUS: Priority.POSITION,
    FrameType.VITALS: Priority.ALERT,
    FrameType.SOS: Priority.SOS,
    FrameType.SOS_ACK: Priority.SOS,
    FrameType.TEXT: Priority.TEXT,
    FrameType.SENSOR: Priority.ALERT,
    FrameType.ORDER: Priority.COMMAND,
    FrameType.ORDER_ACK: Priority.COMMAND,
    FrameType.DELIVERY_ACK: Priority.TEXT,
    FrameType.BULK: Priority.BULK,
}
