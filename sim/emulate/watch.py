"""Failover time of the real daemons, counted as ``sim/failover.py`` counts it.

A flow is a source and a unicast destination of periodic traffic. When a failure strikes,
the flows whose route crossed what failed are *affected* (flows whose own ends failed
are not counted); the route is followed hop by hop through each daemon's ``routes``
(longest prefix covering the destination; its ``via`` names the interface and the next
node), asked over the API. Every ``PROBE_S`` after the strike each affected flow is
followed again: it has *recovered* when its route reaches the destination through nodes
that did not fail and links that exist in the link model (in range, not cut), or through
them once a failure with a duration is over. The failover time of a failure is when its
last affected flow recovered (None if one never did within ``WATCH_S``: the daemons run in
real time). A failed node's API is never asked: a stopped daemon would not answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tacmesh.protocol.addresses import is_unicast
from tacmesh.sim.build import SimNode
from tacmesh.sim.emulate.air import Air
from tacmesh.sim.emulate.drive import Connections
from tacmesh.sim.emulate.layout import NodeLayout
from tacmesh.sim.failover import (
    MAX_HOPS,
    PROBE_S,
    WATCH_S,
    Pair,
    crosses,
    heals_at,
    pair,
    still_failed,
    what_fails,
)
from tacmesh.sim.failures import Strike
from tacmesh.sim.scenario.model import TrafficSpec

__all__ = ["PROBE_S", "Routes", "Watch", "Watches"]


class Routes(Connections):
    """Each node's route table over its API, one persistent connection per node."""

    def __init__(self, layouts: dict[str, NodeLayout]) -> None:
        super().__init__(layouts, timeout_s=1)

    def table(self, node: SimNode) -> list[dict[str, Any]] | None:
        return self.use(node, lambda c: list(c.request("routes")["routes"]))


def via_to(table: list[dict[str, Any]], destination: int) -> tuple[str, int] | None:
    """(interface, next node) of the longest usable prefix covering ``destination``."""
    best: tuple[int, str] | None = None
    for row in table:
        base, _, length = str(row["prefix"]).partition("/")
        bits = int(length or 16)
        shift = 16 - bits
        if row.get("via") is None or row.get("metric") is None:
            continue
        if int(base, 16) >> shift == destination >> shift and (best is None or bits > best[0]):
            best = (bits, str(row["via"]))
    if best is None:
        return None
    iface, _, neighbour = best[1].rpartition("/")
    return iface, int(neighbour, 16)


@dataclass(slots=True)
class Watch:
    strike: Strike
    at: float
    failed: frozenset[int]
    cut: frozenset[Pair]
    affected: list[tuple[SimNode, int]]
    heals_at: float = float("inf")
    recovered: dict[tuple[int, int], float] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return len(self.recovered) < len(self.affected)


class Watches:
    def __init__(self, air: Air, routes: Routes) -> None:
        self.air, self.routes = air, routes
        self.flows: dict[tuple[int, int], SimNode] = {}
        self.watches: list[Watch] = []
        self.down: set[int] = set()
        """Nodes whose daemon is stopped or killed right now (never asked)."""

    def flow(self, source: SimNode, destination: int, spec: TrafficSpec) -> None:
        if spec.every_s is not None and is_unicast(destination):
            self.flows.setdefault((source.index, destination), source)

    def before(self, strike: Strike, t: float) -> Watch:
        """The flows ``strike`` breaks, found on the routes as they are just before it."""
        failed, cut = what_fails(strike, self.air.medium)
        affected = []
        for (_, dst), src in self.flows.items():
            if src.index in failed or src.index in self.down or self._index(dst) in failed:
                continue
            path = self.walk(src, dst, frozenset(), frozenset())
            if path is not None and crosses(path, failed, cut):
                affected.append((src, dst))
        watch = Watch(strike, t, failed, cut, affected, heals_at(strike, t))
        self.watches.append(watch)
        return watch

    def probe(self, t: float) -> bool:
        """Follow every open watch's flows once; whether any watch is still open."""
        for w in self.watches:
            if not w.open or t - w.at > WATCH_S:
                continue
            failed, cut = still_failed(w.failed, w.cut, w.heals_at, t)
            for src, dst in w.affected:
                key = (src.index, dst)
                if key not in w.recovered and self.walk(src, dst, failed, cut):
                    w.recovered[key] = t - w.at
        return any(w.open and t - w.at <= WATCH_S for w in self.watches)

    def walk(self, src: SimNode, dst: int, failed: frozenset[int],
             cut: frozenset[Pair]) -> list[SimNode] | None:  # fmt: skip
        """The route from ``src`` to ``dst`` as the daemons would forward, if it works."""
        node, path = src, [src]
        for _ in range(MAX_HOPS):
            if node.address == dst:
                return path
            table = None if node.index in self.down else self.routes.table(node)
            hop = None if table is None else via_to(table, dst)
            nxt = None if hop is None else self.air.built.by_address.get(hop[1])
            if hop is None or nxt is None or not self._usable(node, hop[0], nxt, failed, cut):
                return None
            if nxt in path:
                return None
            path.append(nxt)
            node = nxt
        return None

    def _usable(self, node: SimNode, iface: str, nxt: SimNode, failed: frozenset[int],
                cut: frozenset[Pair]) -> bool:  # fmt: skip
        if nxt.index in failed or nxt.index in self.down:
            return False
        port = self.air.medium.ports.get((node.index, iface))
        if port is None or not any(link[0].node is nxt for link in port.links):
            return False
        return not (self.air.medium._cut(node, nxt) or pair(node, nxt) in cut)

    def _index(self, address: int) -> int | None:
        node = self.air.built.by_address.get(address)
        return None if node is None else node.index

    def results(self) -> list[dict[str, object]]:
        return [
            {
                "at_s": round(w.at, 3),
                "kind": w.strike.spec.kind,
                "target": w.strike.label,
                "affected_flows": len(w.affected),
                "recovered_flows": len(w.recovered),
                # as the simulator's: no time when nothing had to fail over (RESULTS.md)
                "failover_s": (
                    None if w.open or not w.affected else round(max(w.recovered.values()), 3)
                ),
            }
            for w in self.watches
        ]
