"""The daemon's figures for Prometheus (opt-in ``[metrics] listen``), read at scrape time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tacmesh.node.ops.metrics import Metric
from tacmesh.protocol.engine.neighbours import INFINITY

if TYPE_CHECKING:
    from tacmesh.node.runtime.daemon import NodeDaemon


def collect(d: NodeDaemon) -> list[Metric]:
    e = d.engine
    usable = [n for n in e.control.neighbours if n.cost < INFINITY]
    return [
        Metric(
            "tacmesh_engine_events_total",
            "counter",
            "Engine events by kind (delivered, forwarded, duplicates, no_route, ...)",
            [({"event": k}, float(v)) for k, v in sorted(e.counters.items())],
        ),
        Metric(
            "tacmesh_rejected_frames_total",
            "counter",
            "Frames rejected by SPEC.md §10 code",
            [({"code": k}, float(v)) for k, v in e.codec.rejects.as_dict().items()],
        ),
        Metric(
            "tacmesh_shed_frames_total",
            "counter",
            "Frames the queues dropped, by reason",
            [({"reason": k}, float(v)) for k, v in sorted(e.shed().items())],
        ),
        Metric(
            "tacmesh_link_datagrams_total",
            "counter",
            "Datagrams per link and outcome",
            [
                ({"link": name, "outcome": k}, float(v))
                for name, link in d.links.items()
                for k, v in sorted(link.counters.items())
            ],
        ),
        Metric(
            "tacmesh_neighbours",
            "gauge",
            "Neighbours usable both ways, per interface",
            [
                ({"interface": name}, float(sum(1 for n in usable if n.interface == name)))
                for name in e.queues
            ],
        ),
        Metric(
            "tacmesh_routes",
            "gauge",
            "Selected routes",
            [({}, float(len(e.control.routing.selected)))],
        ),
        Metric(
            "tacmesh_held_messages",
            "gauge",
            "Messages in custody or waiting for a route",
            [({}, float(len(e.custody)))],
        ),
        Metric(
            "tacmesh_queued_frames",
            "gauge",
            "Frames waiting on each interface",
            [({"interface": name}, float(len(q))) for name, q in e.queues.items()],
        ),
        Metric(
            "tacmesh_uptime_seconds",
            "gauge",
            "Seconds since the daemon started",
            [({}, d.clock() - d.started_at)],
        ),
    ]
