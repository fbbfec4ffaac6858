"""Management data (SPEC.md §11): what a node knows, as plain data and as a MgmtReport.

The CLI prints it, the simulator aggregates it, the command picture receives it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from tacmesh.protocol.addresses import format_address
from tacmesh.protocol.engine.neighbours import INFINITY
from tacmesh.protocol.pb import control_pb2

if TYPE_CHECKING:
    from tacmesh.protocol.engine.node import NodeEngine


@dataclass(frozen=True)
class NeighbourRow:
    interface: str
    address: str
    rx_quality: int
    tx_quality: int
    cost: int | None
    """None while the link is not usable both ways."""
    departing_in_s: float | None


@dataclass(frozen=True)
class RouteRow:
    prefix: str
    via: str | None
    """"interface/neighbour", or None for a prefix this node originates."""
    metric: int | None
    seqno: int


@dataclass(frozen=True)
class QueueRow:
    interface: str
    queued: int
    shed: dict[str, int]


@dataclass(frozen=True)
class NodeReport:
    address: str
    neighbours: list[NeighbourRow]
    routes: list[RouteRow]
    queues: list[QueueRow]
    held_messages: int
    counters: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def report(engine: NodeEngine, now: float) -> NodeReport:
    control = engine.control
    neighbours = []
    for n in control.neighbours:
        cost = n.cost
        neighbours.append(
            NeighbourRow(
                n.interface,
                format_address(n.address),
                n.rx_quality,
                n.tx_quality,
                None if cost >= INFINITY else cost,
                None if n.departure_at is None else max(0.0, n.departure_at - now),
            )
        )
    routes = [
        RouteRow(
            str(s.prefix),
            None if s.via is None else f"{s.via[0]}/{format_address(s.via[1])}",
            None if s.metric >= INFINITY else s.metric,
            s.seqno,
        )
        for s in sorted(control.routing.selected.values(), key=lambda s: s.prefix.base)
    ]
    queues = [QueueRow(name, len(q), dict(q.shed)) for name, q in engine.queues.items()]
    return NodeReport(
        format_address(engine.config.address),
        neighbours,
        routes,
        queues,
        len(engine.custody),
        dict(engine.counters),
        engine.codec.rejects.as_dict(),
    )


def mgmt_report(engine: NodeEngine, now: float, uptime_s: int) -> control_pb2.MgmtReport:
    """The same facts in the wire form sent toward the command post."""
    r = report(engine, now)
    neighbours = [
        control_pb2.NeighbourReport(
            address=n.address,
            rx_quality=n.rx_quality,
            tx_quality=n.tx_quality,
            interface=n.interface,
        )
        for n in engine.control.neighbours
    ]
    return control_pb2.MgmtReport(
        uptime_s=uptime_s,
        neighbours=neighbours,
        routes=len(r.routes),
        queued_frames=sum(q.queued for q in r.queues),
        custody_messages=r.held_messages,
        rejects=r.rejects,
    )
