"""Topologies for the engine tests, and what the tests compare the engines against.

A :class:`Topology` is nodes and point-to-point links; each end of a link is its own
interface, named after the peer (``to0203``) as in ``tacmesh/sim/backbone.py``, with the
link's :class:`InterfaceConfig` (so the cost of a hop is the link's base cost). Links are
lossless unless told otherwise, so a converged route's metric is the sum of base costs along
its path and :meth:`Topology.distances` (Dijkstra) gives the metric the engines must find.

Also here: walking the next-hop graph across engines, and steady traffic.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field, replace
from functools import cache

from tacmesh.protocol.addresses import Prefix, Role, team_group
from tacmesh.protocol.compact import PositionReport
from tacmesh.protocol.engine.config import COST_AIR, InterfaceConfig
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.engine.routing import Selected
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.pb import messages_pb2
from tacmesh.sim import backbone
from tacmesh.sim.mini import MiniNet, Received

IP = InterfaceConfig("")
AIR = InterfaceConfig("", cost=COST_AIR)
NARROWBAND = replace(
    InterfaceConfig.narrowband(""),
    hello_interval_s=0.5,
    dead_after_intervals=2.5,
    bitrate_bps=None,
    custody_timeout_s=2.0,
)
"""Narrowband's cost, tag and MTU with IP's timers, so that tests settle in seconds (and no
airtime budget: hellos every 0.5 s would not fit a 10 % duty cycle)."""
SETTLE_S = 10.0


def iface_name(peer: int) -> str:
    return f"to{peer:04x}"


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    kind: InterfaceConfig = IP
    loss: float = 0.0

    @property
    def cost(self) -> int:
        return self.kind.cost


@dataclass(frozen=True)
class NodeSpec:
    role: Role = Role.GROUND_BACKBONE
    prefixes: tuple[Prefix, ...] = ()
    groups: frozenset[int] = frozenset()


@dataclass
class Topology:
    nodes: dict[int, NodeSpec]
    links: list[Link]

    @property
    def addresses(self) -> list[int]:
        return sorted(self.nodes)

    @property
    def prefixes(self) -> dict[Prefix, int]:
        """Announced prefixes (besides node addresses) and the node announcing each."""
        return {p: n for n, spec in self.nodes.items() for p in spec.prefixes}

    def build(self, seed: int = 1, **config: object) -> MiniNet:
        """A MiniNet with one engine per node; ``config`` goes to every NodeConfig."""
        net = MiniNet(seed=seed)
        for address in self.addresses:
            spec = self.nodes[address]
            ifaces = [
                replace(link.kind, name=iface_name(peer)) for peer, link in self.ends(address)
            ]
            net.add_node(
                address,
                ifaces,
                role=spec.role,
                prefixes=spec.prefixes,
                groups=spec.groups,
                **config,
            )
        for link in self.links:
            net.connect(link.a, iface_name(link.b), link.b, iface_name(link.a), loss=link.loss)
        return net

    def ends(self, node: int) -> list[tuple[int, Link]]:
        """(peer, link) for each link of ``node``."""
        return [
            (link.b if link.a == node else link.a, link)
            for link in self.links
            if node in (link.a, link.b)
        ]

    def cost(self, a: int, b: int) -> int:
        return min(link.cost for peer, link in self.ends(a) if peer == b)

    def distances(self, source: int, dead: frozenset[int] = frozenset()) -> dict[int, int]:
        """Dijkstra from ``source`` over base link costs, avoiding ``dead`` nodes."""
        dist = {source: 0}
        heap = [(0, source)]
        while heap:
            d, node = heapq.heappop(heap)
            if d > dist[node]:
                continue
            for peer, link in self.ends(node):
                if peer in dead:
                    continue
                if d + link.cost < dist.get(peer, 1 << 30):
                    dist[peer] = d + link.cost
                    heapq.heappush(heap, (d + link.cost, peer))
        return dist


# -- walking the next-hop graph ----------------------------------------------------------


class RoutingLoopError(AssertionError):
    pass


def route(engine: NodeEngine, address: int) -> Selected | None:
    return engine.control.routing.lookup(address)


def walk(net: MiniNet, source: int, address: int) -> list[int]:
    """The nodes a packet for ``address`` visits from ``source`` by each node's selected next
    hop, ending at a node that originates the matching route, a node without a route, or a
    dead node. Raises :class:`RoutingLoopError` if a node comes back."""
    path = [source]
    while True:
        node = path[-1]
        if node not in net.alive:
            return path
        sel = route(net.engines[node], address)
        if sel is None or sel.via is None:
            return path
        nxt = sel.via[1]
        if nxt in path:
            raise RoutingLoopError(f"toward 0x{address:04x}: {[f'{n:04x}' for n in [*path, nxt]]}")
        path.append(nxt)


def path_cost(topo: Topology, path: list[int]) -> int:
    return sum(topo.cost(a, b) for a, b in itertools.pairwise(path))


# -- traffic ------------------------------------------------------------------------------


def text(body: str) -> messages_pb2.Text:
    return messages_pb2.Text(body=body)


def position(n: int) -> PositionReport:
    """The ``n``-th fix of a moving responder."""
    return PositionReport.from_degrees(31.2 + n * 1e-4, 103.9, alt_m=1200, accuracy_m=4)


def deliveries(net: MiniNet, node: int, source: int | None = None) -> list[Received]:
    """What ``node`` delivered, optionally only messages created by ``source``."""
    return [
        r
        for r in net.received
        if r.node == node and (source is None or r.delivery.message.header.source == source)
    ]


@dataclass
class Flow:
    """A message from ``src`` to ``dst`` every ``every`` seconds of virtual time until
    ``until``: TEXT (sent with custody) or POSITION (without, SPEC.md §9.3)."""

    net: MiniNet
    src: int
    dst: int
    until: float
    every: float = 0.01
    ftype: FrameType = FrameType.TEXT
    sent: list[tuple[float, int]] = field(default_factory=list)
    """(when, msg_id) of each message sent."""

    def start(self) -> Flow:
        self._tick()
        return self

    def _tick(self) -> None:
        if self.net.now >= self.until or self.src not in self.net.alive:
            return
        n = len(self.sent)
        body = position(n) if self.ftype is FrameType.POSITION else text(str(n))
        msg_id = self.net.send(self.src, self.dst, self.ftype, body)
        self.sent.append((self.net.now, msg_id))
        self.net.at(self.net.now + self.every, self._tick)

    def arrivals(self) -> list[Received]:
        return deliveries(self.net, self.dst, self.src)

    def lost(self, sent_from: float = float("-inf")) -> list[int]:
        """Message ids sent at or after ``sent_from`` that never arrived."""
        got = {r.delivery.message.header.message_id for r in self.arrivals()}
        return [m for at, m in self.sent if at >= sent_from and m not in got]

    def latencies(self) -> list[float]:
        sent_at = {m: at for at, m in self.sent}
        return [r.at - sent_at[r.delivery.message.header.message_id] for r in self.arrivals()]

    def duplicates(self) -> int:
        ids = [r.delivery.message.header.message_id for r in self.arrivals()]
        return len(ids) - len(set(ids))


@cache
def silent_failover(seed: int) -> backbone.FailoverResult:
    """``backbone.silent_failover``, run once per seed for all the tests that read it."""
    return backbone.silent_failover(seed)


# -- builders ------------------------------------------------------------------------------


def _plain(
    addresses: list[int], edges: list[tuple[int, int]], kind: InterfaceConfig = IP
) -> Topology:
    return Topology({a: NodeSpec() for a in addresses}, [Link(a, b, kind) for a, b in edges])


def line(n: int, first: int = 0x0101) -> Topology:
    nodes = [first + i for i in range(n)]
    return _plain(nodes, list(itertools.pairwise(nodes)))


def ring(n: int, first: int = 0x0101) -> Topology:
    nodes = [first + i for i in range(n)]
    return _plain(nodes, [(nodes[i], nodes[(i + 1) % n]) for i in range(n)])


def grid(width: int, height: int) -> Topology:
    """Node (x, y) has address 0x0100 + 16*y + x + 1."""

    def at(x: int, y: int) -> int:
        return 0x0100 + 16 * y + x + 1

    edges = [(at(x, y), at(x + 1, y)) for y in range(height) for x in range(width - 1)]
    edges += [(at(x, y), at(x, y + 1)) for y in range(height - 1) for x in range(width)]
    return _plain([at(x, y) for y in range(height) for x in range(width)], edges)


# The two-tier network: three teams behind gateways, a ground backbone, two UAV relays.
BACKBONE = (0x0501, 0x0502, 0x0503)
UAV1, UAV2 = 0x0601, 0x0602
GATEWAYS = (0x0401, 0x0402, 0x0403)
TEAMS = (0x11, 0x12, 0x13)


def team_members(team: int) -> list[int]:
    """Handhelds of a team: ``team << 8 | 1..3``; member 3 hangs off member 2."""
    return [team << 8 | i for i in (1, 2, 3)]


def team_prefix(team: int) -> Prefix:
    return Prefix(team << 8, 8)


def two_tier() -> Topology:
    """Teams 0x11-0x13 (prefixes 0x1100/8...) behind gateways 0x0401-0x0403; the gateways
    on a ground backbone 0x0501-0x0503 (IP) and in sight of UAV relays 0x0601/0x0602 (air).

    Between teams 0x11 and 0x13 the cheapest path crosses UAV 1 (gateway 1, UAV 1, gateway
    3: 2 x 128); without UAV 1 it is gateway 1, backbone 1, UAV 2, gateway 3 (96 + 2 x 128),
    still cheaper than the ground alone (4 x 96).
    """
    b1, b2, b3 = BACKBONE
    g1, g2, g3 = GATEWAYS
    nodes: dict[int, NodeSpec] = {b: NodeSpec() for b in BACKBONE}
    nodes |= {u: NodeSpec(Role.UAV_RELAY) for u in (UAV1, UAV2)}
    links = [Link(b1, b2), Link(b2, b3), Link(g1, b1), Link(g2, b2), Link(g3, b3)]
    links += [Link(UAV1, g1, AIR), Link(UAV1, g3, AIR), Link(UAV1, b2, AIR)]
    links += [Link(UAV2, g2, AIR), Link(UAV2, g3, AIR), Link(UAV2, b1, AIR)]
    for team, gw in zip(TEAMS, GATEWAYS, strict=True):
        nodes[gw] = NodeSpec(Role.GATEWAY, prefixes=(team_prefix(team),))
        h1, h2, h3 = team_members(team)
        group = frozenset({team_group(team)})
        nodes |= {h: NodeSpec(Role.HANDHELD, groups=group) for h in (h1, h2, h3)}
        links += [Link(gw, h1), Link(gw, h2), Link(h2, h3)]
    return Topology(nodes, links)


def cheap_detour() -> Topology:
    """A direct narrowband hop 0x0101-0x0103 (512) beside a two-hop IP path (2 x 96)."""
    a, b, c = 0x0101, 0x0102, 0x0103
    return Topology(
        {n: NodeSpec() for n in (a, b, c)},
        [Link(a, c, NARROWBAND), Link(a, b), Link(b, c)],
    )


def diamond() -> Topology:
    """0x0101 reaches 0x0104 through 0x0102 or 0x0103 at the same cost."""
    a, b, c, d = 0x0101, 0x0102, 0x0103, 0x0104
    return Topology(
        {n: NodeSpec() for n in (a, b, c, d)}, [Link(a, b), Link(a, c), Link(b, d), Link(c, d)]
    )
