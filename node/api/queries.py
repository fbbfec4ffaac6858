"""What the node knows, as the plain JSON the API returns and the CLI prints.

The rows come from the engine's management report (``protocol/engine/report.py``), the
same facts a MgmtReport carries to the command post, plus what only the daemon knows:
links, uptime, the store.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from tacmesh.protocol.addresses import format_address
from tacmesh.protocol.engine.report import report

if TYPE_CHECKING:
    from tacmesh.node.runtime.daemon import NodeDaemon


def hello(d: NodeDaemon, version: int) -> dict[str, Any]:
    return {
        "api": "tacmesh",
        "version": version,
        "node": format_address(d.address),
        "callsign": d.keys.callsign,
    }


def status(d: NodeDaemon) -> dict[str, Any]:
    now = d.clock()
    r = report(d.engine, now)
    return {
        "address": r.address,
        "callsign": d.keys.callsign,
        "role": d.keys.role.name.lower(),
        "team": d.keys.team,
        "mission_id": f"0x{d.keys.mission_id:08x}",
        "uptime_s": round(now - d.started_at, 1),
        "neighbors": sum(1 for n in r.neighbours if n.cost is not None),
        "routes": len(r.routes),
        "held_messages": r.held_messages,
        "queued_frames": sum(q.queued for q in r.queues),
        "links": {
            name: {**link.describe(), **dict(link.counters)} for name, link in d.links.items()
        },
        "counters": r.counters,
        "rejects": r.rejects,
        "shed": dict(d.engine.shed()),
    }


def neighbours(d: NodeDaemon) -> list[dict[str, Any]]:
    return [asdict(n) for n in report(d.engine, d.clock()).neighbours]


def routes(d: NodeDaemon) -> list[dict[str, Any]]:
    return [asdict(r) for r in report(d.engine, d.clock()).routes]


def queues(d: NodeDaemon) -> list[dict[str, Any]]:
    return [asdict(q) for q in report(d.engine, d.clock()).queues]


def team_of(d: NodeDaemon, address: int) -> int | None:
    """The team on a node's certificate, when this node holds it."""
    try:
        return d.engine.codec.trust.sender(address, d.clock()).team
    except ValueError:
        return None
