"""The control plane of one node: hellos, routing updates and route requests (SPEC.md §8).

It decides what control messages to send and when; ``node.py`` frames and protects them.
Changes are batched within one processing step, so a burst of news leaves as one update.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message as PbMessage

from tacmesh.protocol.addresses import ALL_HANDS, Prefix
from tacmesh.protocol.engine.config import InterfaceConfig, Jitter, NodeConfig
from tacmesh.protocol.engine.neighbours import (
    INFINITY,
    Neighbour,
    NeighbourKey,
    NeighbourTable,
    link_cost,
)
from tacmesh.protocol.engine.routing import SEQNO_MOD, RoutingTable
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.heard import pack as pack_heard
from tacmesh.protocol.heard import qualities
from tacmesh.protocol.pb import control_pb2

ROUTE_HOLD_INTERVALS = 3.5
"""Learned routes not refreshed for this many update intervals are dropped."""
REQUEST_HOPS = 16
REQUEST_RETRY_S = 0.5
"""Unanswered requests go out again after this, doubling up to REQUEST_RETRY_MAX_S."""
REQUEST_RETRY_MAX_S = 16.0
UPDATE_GAP_INTERVALS = 0.2
"""Triggered updates leave an interface at most every this many hello intervals: the first
change after a quiet spell goes at once (failover is not delayed), a burst of changes (a
hundred nodes meeting on one channel) is gathered instead of echoed frame by frame."""
ENTRY_BUDGET_BYTES = 80
"""Room kept in an update frame for header, tag and protobuf framing."""
FRESH_START_HELLOS = 3
"""A node's first hellos on an interface say it has just started: three, so that one
lost hello does not leave a neighbour unaware (SPEC.md §8.1.5)."""
"""Room kept in an update frame for header, tag and protobuf framing."""


@dataclass(slots=True)
class Outgoing:
    interface: str
    type: FrameType
    body: PbMessage
    next_hop: int = ALL_HANDS

    def __init__(  # as engine.events.Transmit's
        self, interface: str, type: FrameType, body: PbMessage, next_hop: int = ALL_HANDS
    ) -> None:
        self.interface = interface
        self.type = type
        self.body = body
        self.next_hop = next_hop


@dataclass(slots=True)
class _LinkState:
    next_hello: float
    hello_seqno: int = 0
    since_full: int = 0
    full_due: bool = True
    fresh_hellos: int = FRESH_START_HELLOS
    """Hellos still to mark fresh_start (SPEC.md §8.1.5)."""
    last_full: float = float("-inf")
    table_due: bool = False
    last_table: float = float("-inf")
    pending: set[Prefix] = field(default_factory=set)
    """Changes waiting for the interface's next triggered update."""
    last_update: float = float("-inf")


class ControlPlane:
    def __init__(self, config: NodeConfig, rng: Jitter, now: float) -> None:
        self.config = config
        self.rng = rng
        self.interfaces = {i.name: i for i in config.interfaces}
        self.neighbours = NeighbourTable(config.address)
        self.routing = RoutingTable(
            config.address,
            config.prefixes,
            serves_default=any(i.subnet for i in config.interfaces),
        )
        self.links = {
            i.name: _LinkState(now + i.hello_interval_s * rng.random()) for i in config.interfaces
        }
        self.next_update = now + config.update_interval_s * (0.5 + 0.5 * rng.random())
        self._changed: set[Prefix] = set()
        self._outgoing: list[Outgoing] = []
        self._asking: dict[Prefix, int] = {}
        self._retry_at = float("inf")
        self._retry_wait = REQUEST_RETRY_S
        """Seqno requests gathered in this step, sent as one RouteRequest."""
        self.departure_at: float | None = None
        """When this node leaves (announced in every hello from then on)."""
        self.stirred = False
        """Set by an input that brought a deadline nearer (a new neighbour, a table due):
        with :meth:`busy`, whether the engine must step and its driver re-arm. A hello
        of a known neighbour that changed no selection worth telling, or a periodic
        update that repeats what we hold, leaves both unset. Cleared by the engine."""

    def _jitter(self, interval: float, spread: float = 0.25) -> float:
        """Periodic sends are spread so that neighbours do not fall into step."""
        return interval * (1 - spread * self.rng.random())

    # -- inputs ------------------------------------------------------------------------

    def on_hello(self, now: float, iface_name: str, sender: int, hello: control_pb2.Hello) -> None:
        self.routing.now = now
        iface = self.interfaces[iface_name]
        old = self.neighbours.get((iface_name, sender))
        before = INFINITY if old is None else old.cost
        was_departing = old is not None and old.departure_at is not None
        interval_before = None if old is None else old.interval_s
        n, cost_changed = self.neighbours.on_hello(now, iface, sender, hello)
        if old is None or hello.fresh_start or n.interval_s != interval_before:
            self.stirred = True  # a shorter interval may bring the neighbour's death nearer
        # A cost that moved stirs only through what it changed (busy()): on a narrowband
        # channel collisions move nearly every hello's cost, and most moves change nothing.
        if old is None:  # tell the newcomer at once that we hear it
            self._full_hello_now(now, iface_name)
        elif hello.fresh_start:  # it restarted before we lost it: it has no routes
            self._full_hello_now(now, iface_name)
            if before < INFINITY:
                self._table_soon(now, iface_name)
        if cost_changed:
            self._changed |= self.routing.on_cost(n.key, n.cost)
            if before >= INFINITY:  # the link just became usable both ways: share our table
                self._table_soon(now, iface_name)
        if n.departure_at is not None and not was_departing:
            self._make_before_break(n)

    def busy(self) -> bool:
        """Whether something waits for the next :meth:`take`: news, messages, requests."""
        return bool(self._changed or self._outgoing or self._asking) or self.stirred

    def _make_before_break(self, n: Neighbour) -> None:
        """A neighbour will leave: prefer routes around it, and ask now for fresh seqnos of
        every route through it, so that the routes around it become feasible while it still
        forwards (SPEC.md §8.3)."""
        self.routing.on_departure(n.key)
        for prefix, sel in self.routing.selected.items():
            if sel.via == n.key:
                self._request(prefix, (sel.seqno + 1) % SEQNO_MOD)

    def _table_soon(self, now: float, name: str) -> None:
        """Our whole table for a new neighbour, at most once per hello interval per
        interface: on a shared channel one table serves every newcomer of the interval
        (a hundred nodes meeting at once would otherwise send ten thousand tables)."""
        link = self.links[name]
        self.stirred = True
        if now - link.last_table >= self.interfaces[name].hello_interval_s:
            link.last_table, link.table_due = now, False
            self._send_table(name)
        else:
            link.table_due = True

    def _full_hello_now(self, now: float, name: str) -> None:
        """An unscheduled full hello, at most one per hello interval per interface."""
        link = self.links[name]
        link.full_due = True
        if now - link.last_full >= self.interfaces[name].hello_interval_s:
            self._hello(name, link, now)

    def originate(self, now: float, prefix: Prefix) -> None:
        self.routing.now = now
        if self.routing.originate(prefix):
            self._changed.add(prefix)
            self.routing.urgent.add(prefix)

    def withdraw(self, now: float, prefix: Prefix) -> None:
        self.routing.now = now
        if self.routing.withdraw(prefix):
            self._changed.add(prefix)
            self.routing.urgent.add(prefix)

    def depart(self, now: float, in_s: float) -> None:
        """This node will leave in ``in_s`` seconds: say so in every hello, starting now."""
        self.departure_at = now + in_s
        for name, link in self.links.items():
            link.full_due = True
            self._hello(name, link, now)

    def on_update(
        self, now: float, iface_name: str, sender: int, update: control_pb2.RouteUpdate
    ) -> None:
        self.routing.now = now
        n = self.neighbours.get((iface_name, sender))
        if n is None:
            return  # not a neighbour yet: its hello will bring a full table our way
        cost = n.cost
        self._changed |= self.routing.on_update(now, n.key, cost, list(update.routes))

    def on_request(self, now: float, req: control_pb2.RouteRequest) -> None:
        """Answer what we can with an update; pass the rest on toward each source."""
        self.routing.now = now
        onward: dict[NeighbourKey, list[control_pb2.WantedRoute]] = {}
        for wanted in req.routes:
            try:
                prefix = Prefix(wanted.prefix, 16 - wanted.host_bits)
            except ValueError:
                continue
            seqno_before = self.routing.seqno
            if self.routing.on_request(prefix, wanted.seqno % SEQNO_MOD):
                answer = set(self.routing.own) if prefix in self.routing.own else {prefix}
                self._changed |= answer
                if self.routing.seqno != seqno_before:  # a new seqno repairs routes: at once
                    self.routing.urgent |= answer
                continue
            sel = self.routing.selected.get(prefix)
            if req.hop_count > 1 and sel is not None and sel.via is not None:
                onward.setdefault(sel.via, []).append(wanted)
        for (iface, neighbour), routes in onward.items():
            fwd = control_pb2.RouteRequest(routes=routes, hop_count=req.hop_count - 1)
            self._outgoing.append(Outgoing(iface, FrameType.ROUTE_REQUEST, fwd, neighbour))

    def link_down(self, now: float, iface_name: str, neighbour: int | None) -> None:
        self.routing.now = now
        for n in self.neighbours.drop(iface_name, neighbour):
            self._lost(n)
        if neighbour is None:  # we forgot everyone here; they may not have missed us
            self.links[iface_name].fresh_hellos = FRESH_START_HELLOS

    def _lost(self, n: Neighbour) -> None:
        self._changed |= self.routing.on_neighbour_lost(n.key)

    # -- time --------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        self.routing.now = now
        for n in self.neighbours.expire(now, self.interfaces):
            self._lost(n)
        for name, link in self.links.items():
            if link.table_due and now - link.last_table >= self.interfaces[name].hello_interval_s:
                link.last_table, link.table_due = now, False
                self._send_table(name)
            if now >= link.next_hello:
                self._hello(name, link, now)
                # Little spread on hellos: their spacing is what loss detection counts on.
                link.next_hello = now + self._jitter(self.interfaces[name].hello_interval_s, 0.1)
        if now >= self._retry_at:
            self._asking.update(self.routing.wanted)  # unanswered: the request may be lost
            self._retry_wait = min(REQUEST_RETRY_MAX_S, self._retry_wait * 2)
            self._retry_at = float("inf")
        if now >= self.next_update:
            hold = ROUTE_HOLD_INTERVALS * self.config.update_interval_s
            self._changed |= self.routing.expire(now, hold)
            self._changed |= self.routing.forget_retractions(now, self.config.update_interval_s)
            for name in self.interfaces:
                self._send_table(name)
            self.next_update = now + self._jitter(self.config.update_interval_s)

    def next_deadline(self) -> float:
        soonest = min(self.next_update, self._retry_at)
        for name, link in self.links.items():
            t = link.next_hello
            if link.table_due:
                t = min(t, link.last_table + self.interfaces[name].hello_interval_s)
            if link.pending:
                t = min(t, link.last_update + self._update_gap(name))
            soonest = min(soonest, t)
        expiry = self.neighbours.next_expiry(self.interfaces)
        return soonest if expiry is None or expiry >= soonest else expiry

    # -- outputs -----------------------------------------------------------------------

    def take(self) -> list[Outgoing]:
        """Everything to send now: queued messages, then triggered updates and requests."""
        if self._changed:
            changed, self._changed = self._changed, set()
            self.routing.minor = set()
            urgent, self.routing.urgent = self.routing.urgent & changed, set()
            found, self.routing.found = self.routing.found & changed, set()
            for name, iface in self.interfaces.items():
                link = self.links[name]
                # Narrowband hears only news at once; a metric that moved waits for the
                # periodic update there (SPEC.md §8.2.3.1).
                link.pending |= changed if iface.bitrate_bps is None else urgent | found
                if urgent:  # a repair or hand-off leaves now, with whatever was gathered
                    link.last_update = float("-inf")
            for prefix in changed & set(self.routing.wanted):
                self._asking[prefix] = self.routing.wanted[prefix]
        now = self.routing.now
        for name, link in self.links.items():
            if link.pending and now >= link.last_update + self._update_gap(name):
                for body in self._chunks(link.pending, name):
                    self._outgoing.append(Outgoing(name, FrameType.ROUTE_UPDATE, body))
                link.pending, link.last_update = set(), now
        if self._asking:
            req = control_pb2.RouteRequest(
                routes=[
                    control_pb2.WantedRoute(prefix=p.base, host_bits=16 - p.length, seqno=s)
                    for p, s in sorted(self._asking.items(), key=lambda i: i[0].base)
                ],
                hop_count=REQUEST_HOPS,
            )
            self._asking = {}
            for name in self.interfaces:
                self._outgoing.append(Outgoing(name, FrameType.ROUTE_REQUEST, req))
        if not self.routing.wanted:
            self._retry_at, self._retry_wait = float("inf"), REQUEST_RETRY_S
        elif self._retry_at == float("inf"):
            self._retry_at = self.routing.now + self._retry_wait
        out, self._outgoing = self._outgoing, []
        return out

    def _update_gap(self, name: str) -> float:
        return UPDATE_GAP_INTERVALS * self.interfaces[name].hello_interval_s

    def _request(self, prefix: Prefix, seqno: int) -> None:
        self._asking[prefix] = seqno

    def _hello(self, name: str, link: _LinkState, now: float) -> None:
        iface: InterfaceConfig = self.interfaces[name]
        link.hello_seqno = (link.hello_seqno + 1) % SEQNO_MOD
        hello = control_pb2.Hello(seqno=link.hello_seqno)
        if link.fresh_hellos:
            hello.fresh_start = True
            link.fresh_hellos -= 1
        if self.departure_at is not None:
            hello.departure_in_s = max(1, round(self.departure_at - now))
        link.since_full += 1
        if link.full_due or link.since_full >= iface.heard_every:
            hello.interval_ms = round(iface.hello_interval_s * 1000)
            hello.heard = pack_heard((n.address, n.rx_quality) for n in self.neighbours.on(name))
            link.since_full, link.full_due, link.last_full = 0, False, now
        self._outgoing.append(Outgoing(name, FrameType.HELLO, hello))

    def _send_table(self, name: str) -> None:
        for body in self._chunks(None, name):
            self._outgoing.append(Outgoing(name, FrameType.ROUTE_UPDATE, body))

    def advertised(
        self, name: str, prefixes: set[Prefix] | None = None
    ) -> list[control_pb2.RouteEntry]:
        """The entries an update on interface ``name`` carries: the whole table, or the
        routes to ``prefixes``."""
        iface = self.interfaces[name]
        unneeded: frozenset[NeighbourKey] = frozenset()
        if iface.bitrate_bps is not None and (prefixes is None or self._to_neighbours(prefixes)):
            unneeded = self._reached_without_us(name)
        return self.routing.entries(prefixes, subnet=iface.subnet, unneeded=unneeded)

    def _to_neighbours(self, prefixes: set[Prefix]) -> bool:
        """Whether a triggered update of ``prefixes`` holds a route to a neighbour through
        that neighbour (the only routes §8.2.3.3 may leave out)."""
        selected = self.routing.selected
        for p in prefixes:
            sel = selected.get(p)
            if sel is not None and sel.via is not None and sel.via[1] == p.base:
                return True
        return False

    def _reached_without_us(self, name: str) -> frozenset[NeighbourKey]:
        """Neighbours on ``name`` to whom every other usable neighbour there has a link of
        its own cheaper than the way through us, as their hellos' heard lists tell: on a
        shared narrowband channel nobody would choose our route to them, and every member
        announcing the whole team took a quarter of a team channel's airtime (SPEC.md
        §8.2.3.3)."""
        iface = self.interfaces[name]
        peers = [(n, n.address, qualities(n.hears), n.cost) for n in self.neighbours.on(name)
                 if n.cost < INFINITY]  # fmt: skip
        out = []
        for x, x_address, x_hears, x_cost in peers:
            for y, y_address, y_hears, y_cost in peers:
                if y is x:
                    continue
                # y's own link to x, from what each says it hears of the other, against
                # y's link to us (as we use it) plus our route to x
                rx, tx = y_hears.get(x_address, 0), x_hears.get(y_address, 0)
                if not (rx and tx) or link_cost(iface, rx, tx) >= y_cost + x_cost:
                    break
            else:
                out.append(x.key)
        return frozenset(out)

    def _chunks(self, prefixes: set[Prefix] | None, name: str) -> list[control_pb2.RouteUpdate]:
        """What interface ``name`` should hear, split so that each frame fits its MTU."""
        room = self.interfaces[name].mtu - ENTRY_BUDGET_BYTES
        bodies, current, size = [], control_pb2.RouteUpdate(), 0
        for entry in self.advertised(name, prefixes):
            # Each entry adds its tag and length byte to the body: counted as it grows,
            # as asking the body its size per entry made a table cost its square.
            grown = entry.ByteSize() + 2
            if current.routes and size + grown > room:
                bodies.append(current)
                current, size = control_pb2.RouteUpdate(), 0
            current.routes.append(entry)
            size += grown
        if current.routes:
            bodies.append(current)
        return bodies
