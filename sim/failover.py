"""Failover time: how long the flows a failure broke take to find a way again.

A flow is a source and a unicast destination of periodic traffic. When a failure strikes,
the flows whose current route (followed next hop by next hop through the engines' own
routing tables) crossed what failed are *affected*; flows whose own source or destination
failed are not counted (nothing can repair them). From then on the watch follows each
affected flow's route, every ``PROBE_S`` for the first ``FINE_S`` and then ever more
sparsely (``probe_gap``): the flow has *recovered* when its route reaches the destination
again through live nodes and links that exist, avoiding what failed (until a failure with
a duration is over: then through it too). A planned departure
counts from its announcement, so make-before-break shows as a short failover before the
node even leaves. The failover time of a failure is the time until its last affected flow
recovered (None if one never did before the run ended: a gap that waits for a relief UAV
is a recovery too, however long). The emulator, which runs daemons in real time, watches
for ``WATCH_S`` only.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tacmesh.protocol.addresses import is_unicast
from tacmesh.sim.build import SimNode
from tacmesh.sim.failures import Strike
from tacmesh.sim.medium import Jam, Medium
from tacmesh.sim.scenario.model import TrafficSpec

Pair = tuple[int, int]
"""Two node indexes, lower first: a link."""

if TYPE_CHECKING:
    from tacmesh.sim.world import World

PROBE_S = 0.1
FINE_S = 30.0
RELATIVE_GAP = 1 / 30
"""After ``FINE_S``, walks come this share of the time elapsed apart (about 3 % precision)."""
MAX_PROBE_S = 10.0
WATCH_S = 300.0
MAX_HOPS = 32


@dataclass(slots=True)
class Watch:
    strike: Strike
    at: float
    failed: frozenset[int]
    """Indices of nodes that failed (or are leaving)."""
    cut: frozenset[tuple[int, int]]
    affected: list[tuple[SimNode, int]]
    heals_at: float = float("inf")
    """When a failure with a duration (a cut, a partition, jamming, a restart) is over:
    from then on a route through what failed counts as recovered too."""
    recovered: dict[tuple[int, int], float] = field(default_factory=dict)


class FailoverWatch:
    def __init__(self, world: World) -> None:
        self.world = world
        self.flows: dict[tuple[int, int], SimNode] = {}
        self.watches: list[Watch] = []
        self._pending: (
            tuple[frozenset[int], frozenset[tuple[int, int]], list[tuple[SimNode, int]]] | None
        ) = None

    def flow(self, source: SimNode, destination: int, spec: TrafficSpec) -> None:
        if spec.every_s is not None and is_unicast(destination):
            self.flows.setdefault((source.index, destination), source)

    def before(self, strike: Strike) -> None:
        failed, cut = what_fails(strike, self.world.medium)
        affected = []
        for (_, dst), src in self.flows.items():
            if src.index in failed or self._index(dst) in failed or not src.alive:
                continue
            path = self.walk(src, dst, frozenset(), frozenset())
            if path is not None and crosses(path, failed, cut):
                affected.append((src, dst))
        self._pending = (failed, cut, affected)

    def after(self, strike: Strike) -> None:
        assert self._pending is not None
        failed, cut, affected = self._pending
        self._pending = None
        watch = Watch(strike, self.world.t, failed, cut, affected, heals_at(strike, self.world.t))
        self.watches.append(watch)
        if affected:
            self._probe(watch)

    def _probe(self, watch: Watch) -> None:
        t = self.world.t
        failed, cut = still_failed(watch.failed, watch.cut, watch.heals_at, t)
        for src, dst in watch.affected:
            key = (src.index, dst)
            if key not in watch.recovered and self.walk(src, dst, failed, cut):
                watch.recovered[key] = t - watch.at
        if len(watch.recovered) < len(watch.affected):
            gap = probe_gap(t - watch.at)
            self.world.kernel.at(self.world.kernel.now + gap, lambda _: self._probe(watch))

    def walk(self, src: SimNode, dst: int, failed: frozenset[int],
             cut: frozenset[tuple[int, int]]) -> list[SimNode] | None:  # fmt: skip
        """The route from ``src`` to ``dst`` as the engines would forward, if it works."""
        world = self.world
        node, path = src, [src]
        for _ in range(MAX_HOPS):
            if node.address == dst:
                return path
            sel = node.engine.control.routing.lookup(dst)
            if sel is None or sel.via is None:
                return None
            iface, neighbour = sel.via
            nxt = world.built.by_address.get(neighbour)
            if nxt is None or not nxt.alive or nxt.index in failed or nxt in path:
                return None
            port = world.medium.ports[(node.index, iface)]
            if not any(link[0].node is nxt for link in port.links):
                return None
            if world.medium._cut(node, nxt) or pair(node, nxt) in cut:
                return None
            path.append(nxt)
            node = nxt
        return None

    def _index(self, address: int) -> int | None:
        node = self.world.built.by_address.get(address)
        return None if node is None else node.index

    def results(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for w in self.watches:
            # No failover time without affected flows: 0 s would read as an instant reroute.
            done = bool(w.affected) and len(w.recovered) == len(w.affected)
            out.append({
                "at_s": round(w.at, 3),
                "kind": w.strike.spec.kind,
                "target": w.strike.label,
                "affected_flows": len(w.affected),
                "recovered_flows": len(w.recovered),
                "failover_s": (round(max(w.recovered.values(), default=0.0), 3) if done else None),
            })  # fmt: skip
        return out


def heals_at(strike: Strike, at: float) -> float:
    """When a failure that struck at ``at`` is over: ``at + duration_s`` for a cut, a
    partition, jamming or a restart; never for the others."""
    lasts = strike.spec.duration_s
    return at + lasts if lasts else float("inf")


def still_failed(failed: frozenset[int], cut: frozenset[Pair], heals: float,
                 t: float) -> tuple[frozenset[int], frozenset[Pair]]:  # fmt: skip
    """What a recovered route must still avoid at ``t``: nothing once the failure is over."""
    return (frozenset(), frozenset()) if t >= heals else (failed, cut)


def probe_gap(elapsed_s: float) -> float:
    """Until the next walk of a flow still broken ``elapsed_s`` after its failure: 0.1 s for
    the first 30 s, then a thirtieth of the time elapsed, at most 10 s, so that a flow that
    never recovers costs a few hundred walks in an hour, not 36,000."""
    if elapsed_s < FINE_S:
        return PROBE_S
    return min(MAX_PROBE_S, elapsed_s * RELATIVE_GAP)


def what_fails(strike: Strike, medium: Medium) -> tuple[frozenset[int], frozenset[Pair]]:
    """The nodes (by index) and links a failure takes away: the simulator's watch and the
    emulator's measure failover against the same answer."""
    kind = strike.spec.kind
    if kind == "link_cut":
        a, b = strike.nodes
        return frozenset(), frozenset({pair(a, b)})
    if kind == "partition":
        inside = {n.index for n in strike.nodes}
        cut = {
            pair(p.node, link[0].node)
            for p in medium.ports.values()
            for link in p.links
            if (p.node.index in inside) != (link[0].node.index in inside)
        }
        return frozenset(), frozenset(cut)
    if kind == "jamming":
        jam = Jam.of(strike.spec)
        return frozenset(p.node.index for p in medium.ports.values() if jam.covers(p)), frozenset()
    return frozenset(n.index for n in strike.nodes), frozenset()


def pair(a: SimNode, b: SimNode) -> Pair:
    return (min(a.index, b.index), max(a.index, b.index))


def crosses(path: list[SimNode], failed: frozenset[int], cut: frozenset[Pair]) -> bool:
    """Whether a path (node by node) uses a failed node or a cut link."""
    if any(n.index in failed for n in path):
        return True
    return any(pair(a, b) in cut for a, b in itertools.pairwise(path))
