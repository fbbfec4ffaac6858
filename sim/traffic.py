"""What the simulated responders send: the traffic of a scenario, message by message.

Each [[traffic]] entry becomes, per source node, a first send at a random phase within
its period (so a thousand handhelds do not report in the same instant) and then one every
period; one-shot entries (``at_s``) send once. Bodies are real messages: positions come
from the node's track, SOS and orders are signed by the engine's codec like real ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tacmesh.protocol.addresses import ALL_HANDS, Role, role_group, team_group
from tacmesh.protocol.compact import PositionReport, ResponderState, StatusReport, VitalSigns
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import messages_pb2
from tacmesh.sim.build import Built, SimNode
from tacmesh.sim.geo import Plane
from tacmesh.sim.scenario.model import TrafficSpec

FRAME_TYPES = {
    "position": FrameType.POSITION,
    "status": FrameType.STATUS,
    "vitals": FrameType.VITALS,
    "sos": FrameType.SOS,
    "order": FrameType.ORDER,
    "text": FrameType.TEXT,
    "bulk": FrameType.BULK,
}


@dataclass(frozen=True, slots=True)
class Send:
    """One message to originate: who, to which address, and the members meant to get it."""

    spec: TrafficSpec
    source: SimNode
    destination: int
    recipients: tuple[SimNode, ...]


def sources(built: Built, selector: str) -> list[SimNode]:
    """The nodes a traffic or failure selector names (``name``, ``team:x``, ``role:r``, ``all``)."""
    if selector == "all":
        return list(built.nodes)
    if selector.startswith("team:"):
        return [n for n in built.nodes if n.team == selector[5:]]
    if selector.startswith("role:"):
        role = Role[selector[5:].upper()]
        return [n for n in built.nodes if n.role is role]
    node = built.by_name.get(selector)
    if node is not None:
        return [node]
    return [n for n in built.nodes if n.name.startswith(selector + "-") and n.spec.count > 1]


def plan(built: Built, spec: TrafficSpec, source: SimNode) -> Send:
    to = spec.to
    if to == "command":
        cp = next(n for n in built.nodes if n.role is Role.COMMAND_POST)
        return Send(spec, source, cp.address, (cp,))
    if to == "all":
        return Send(spec, source, ALL_HANDS, tuple(n for n in built.nodes if n is not source))
    if to == "team" or to.startswith("team:"):
        team = source.team if to == "team" else to[5:]
        if team is None:
            raise ValueError(f"node {source.name} has no team to send {spec.kind} to")
        members = tuple(n for n in built.nodes if n.team == team and n is not source)
        return Send(spec, source, team_group(built.teams[team][0]), members)
    if to.startswith("role:"):
        role = Role[to[5:].upper()]
        members = tuple(n for n in built.nodes if n.role is role and n is not source)
        return Send(spec, source, role_group(role), members)
    node = built.by_name[to]
    return Send(spec, source, node.address, (node,))


def first_time(spec: TrafficSpec, rng: random.Random) -> float | None:
    if spec.at_s is not None:
        return spec.at_s
    if spec.every_s is None:
        return None
    return spec.start_s + spec.every_s * rng.random()


def next_time(spec: TrafficSpec, last: float, duration_s: float) -> float | None:
    if spec.every_s is None:
        return None
    t = last + spec.every_s
    stop = duration_s if spec.stop_s is None else min(spec.stop_s, duration_s)
    return t if t < stop else None


class Bodies:
    """Message bodies for each kind, made from the sender's state at the time of sending."""

    def __init__(self, plane: Plane, rng: random.Random) -> None:
        self.plane = plane
        self.rng = rng
        self.serial = 0

    def make(self, kind: str, node: SimNode, size: int) -> Body:
        self.serial += 1
        if kind == "position":
            return self._position(node)
        if kind == "status":
            return StatusReport(ResponderState.ON_SCENE, battery_pct=self.rng.randint(20, 100))
        if kind == "vitals":
            return VitalSigns(
                heart_rate_bpm=self.rng.randint(60, 150),
                spo2_pct=self.rng.randint(90, 100),
                skin_temp_c=self.rng.randint(128, 148) / 4,
                respiration_rpm=self.rng.randint(10, 30),
            )
        if kind == "sos":
            return messages_pb2.Sos(
                sos_id=self.serial,
                kind=messages_pb2.SOS_TRAPPED,
                position=self._position(node).encode(),
                escalate_after_s=60,
            )
        if kind == "order":
            return messages_pb2.Order(
                order_id=self.serial,
                kind=messages_pb2.ORDER_REPORT_IN,
                instruction="Report in with status",
                valid_for_s=600,
            )
        if kind == "bulk":
            return messages_pb2.Bulk(
                object_id=self.serial, total_len=size, media_type="image/jpeg", data=bytes(size)
            )
        return messages_pb2.Text(
            body=("Need water and a stretcher at sector C. " * 8)[: size or 40]
        )

    def _position(self, node: SimNode) -> PositionReport:
        x, y, z = node.position
        lat, lon = self.plane.to_latlon(x, y)
        return PositionReport.from_degrees(lat, lon, alt_m=round(z), accuracy_m=5)
