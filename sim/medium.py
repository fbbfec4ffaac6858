"""The air between simulated nodes: who hears whom, how well, and what each frame costs.

Rules kept here:
- Radios hear each other only on the same (profile, channel); on a point-to-multipoint
  profile (the UAV data link) only when one of the two is a hub (a relay's radio,
  ``Radio.hub``): terminals aim directional antennas at a hub, not at each other. Link
  qualities (the delivery probability of one frame, from the profile's path-loss model
  and the pair's fixed shadowing) are recomputed every topology interval, only for pairs
  where a node moved or changed state.
- A radio sends one frame at a time: a frame starts when the previous one has left
  (serialisation at the profile's bit rate; LoRa airtime by Semtech's formula) and arrives
  a propagation delay after it ends.
- On channels with collisions (LoRa), every radio in range receives every frame, overlaps
  at a receiver spoil frames (capture aside), and a radio hears nothing while it sends.
  On other channels a frame for one next hop goes only to that neighbour: the others'
  engines would drop it unopened (SPEC.md §8.1.3), so the result is the same, cheaper.
- Cuts, partitions and jamming act at the receiver: the frame is lost and counted.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tacmesh.protocol.addresses import ALL_HANDS
from tacmesh.protocol.engine.events import Transmit
from tacmesh.protocol.priority import Priority
from tacmesh.sim.build import Radio, SimNode
from tacmesh.sim.radio import CollisionTracker, shadowing_db
from tacmesh.sim.radio.budget import LinkBudget
from tacmesh.sim.scenario.model import FailureSpec

Arrival = tuple["Port", bytes, int]
Schedule = Callable[[float, Callable[[Arrival], object], Arrival], None]
"""``Kernel.at``: when, action, argument."""
MIN_QUALITY = 0.01
"""Pairs below this delivery probability are treated as out of range."""
MOVED_M = 1.0


@dataclass(slots=True, eq=False)
class Port:
    """A radio of a node, as the medium sees it."""

    node: SimNode
    radio: Radio
    busy_until: float = 0.0
    tracker: CollisionTracker | None = None
    links: list[tuple[Port, float, float, float]] = field(default_factory=list)
    """(receiver, delivery probability, propagation delay, received power in dBm) for
    every port in range."""
    hub: bool = False
    """The centre of a point-to-multipoint link (Radio.hub)."""
    name: str = field(init=False)
    """The engine's interface name (given with every frame received: a field, not a
    property, as it is read per frame)."""
    airtimes: dict[int, float] = field(init=False, default_factory=dict)
    """Air time by frame size: the profile's formula, once per size."""
    sent_bytes: list[int] = field(init=False)
    """Bytes sent: [control, data] (Medium.bytes adds the ports up)."""
    sent_airtime: list[float] = field(init=False)
    """Air time spent sending (s): [control, data]."""
    budget: LinkBudget = field(init=False)
    """The profile's link formulas (read per pair at every link refresh)."""
    terminal: bool = field(init=False)
    """Not a hub on a point-to-multipoint channel: it hears hubs only."""

    def __post_init__(self) -> None:
        self.name = self.radio.interface.name
        self.budget = self.radio.profile.budget
        self.terminal = self.radio.profile.point_to_multipoint and not self.hub
        self.sent_bytes = [0, 0]
        self.sent_airtime = [0.0, 0.0]


@dataclass(slots=True)
class Jam:
    center: tuple[float, float]
    radius_m: float
    profile: str | None

    @classmethod
    def of(cls, spec: FailureSpec) -> Jam:
        return cls(spec.center or (0.0, 0.0), spec.radius_m, spec.profile)

    def covers(self, port: Port) -> bool:
        if self.profile is not None and port.radio.profile.name != self.profile:
            return False
        x, y, _ = port.node.position
        return math.hypot(x - self.center[0], y - self.center[1]) <= self.radius_m


class Medium:
    def __init__(self, nodes: list[SimNode], seed: int, rng: random.Random) -> None:
        self.rng = rng
        self.seed = seed
        self.ports: dict[tuple[int, str], Port] = {}
        self.channels: dict[tuple[str, str], list[Port]] = {}
        for n in nodes:
            for name, radio in n.radios.items():
                tracker = None
                if radio.profile.collisions:
                    tracker = CollisionTracker(radio.profile.capture_db)
                port = Port(n, radio, tracker=tracker, hub=radio.hub)
                self.ports[(n.index, name)] = port
                self.channels.setdefault(radio.channel, []).append(port)
        self._nodes = list({p.node.index: p.node for p in self.ports.values()}.values())
        """Every node with a radio, once: refresh looks at nodes, not at each radio."""
        self.cuts: Counter[tuple[int, int]] = Counter()
        """Node pairs (lower index first) whose links are cut, with how many cuts hold."""
        self.partitions: Counter[str] = Counter()
        self.jams: list[Jam] = []
        self.lost: Counter[str] = Counter()
        self.frames_sent = 0
        self.frames_received = 0
        self._frame_id = 0
        self._placed: dict[int, tuple[float, float, float, bool]] = {}
        self._shadows: dict[tuple[int, int, float], float] = {}
        """shadowing_db by (lower address, higher address, sigma): fixed per pair, while
        the pair's link is redone whenever one of the two moves, and seeding a generator
        for it cost more than the rest of the link. Holds only pairs that came in range."""

    # -- link qualities ----------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute the links of every channel where a node moved, died or came back."""
        moved = {n.index for n in self._nodes if self._moved(n)}
        for ports in self.channels.values():
            if any(p.node.index in moved for p in ports):
                self._relink(ports, moved)
        for n in self._nodes:
            self._placed[n.index] = (*n.position, n.alive)

    def _moved(self, n: SimNode) -> bool:
        last = self._placed.get(n.index)
        if last is None:
            return True
        x, y, z, alive = last
        px, py, pz = n.position
        return alive != n.alive or abs(px - x) + abs(py - y) + abs(pz - z) > MOVED_M

    def _relink(self, ports: list[Port], moved: set[int]) -> None:
        for a in ports:
            if a.node.index not in moved:  # keep links to unmoved peers, redo the rest
                a.links = [link for link in a.links if link[0].node.index not in moved]
            else:
                a.links = []
        for i, a in enumerate(ports):
            a_moved = a.node.index in moved
            for b in ports[i + 1 :]:
                if not a_moved and b.node.index not in moved:
                    continue
                link = self._quality(a, b)
                if link is not None:
                    q, delay, dbm = link
                    a.links.append((b, q, delay, dbm))
                    b.links.append((a, q, delay, dbm))

    def _quality(self, a: Port, b: Port) -> tuple[float, float, float] | None:
        """The link of a pair, or None out of range."""
        an, bn = a.node, b.node
        if not (an.alive and bn.alive) or an is bn:
            return None
        if a.terminal and not b.hub:
            return None  # two terminals, each aimed at a relay
        budget = a.budget
        (ax, ay, az), (bx, by, bz) = an.position, bn.position
        d = math.hypot(ax - bx, ay - by, az - bz)
        loss = budget.path_loss_db(d, az, bz)
        if not budget.reachable(d, loss):
            return None
        a_addr, b_addr, sigma = an.address, bn.address, budget.shadowing_db
        key = (a_addr, b_addr, sigma) if a_addr < b_addr else (b_addr, a_addr, sigma)
        shadow = self._shadows.get(key)  # _shadow without a call: most pairs are known
        if shadow is None:
            shadow = self._shadow(a_addr, b_addr, sigma)
        q = budget.delivery_at(d, loss, shadow)
        if q < MIN_QUALITY:
            return None
        return q, budget.propagation_delay_s(d), budget.power_at(loss, shadow)

    def _shadow(self, a: int, b: int, sigma_db: float) -> float:
        key = (a, b, sigma_db) if a < b else (b, a, sigma_db)  # the pair is unordered
        shadow = self._shadows.get(key)
        if shadow is None:
            shadow = self._shadows[key] = shadowing_db(self.seed, a, b, sigma_db)
        return shadow

    def unserved(self) -> list[str]:
        """Radios on a point-to-multipoint channel that no hub shares: they can never
        hear anyone (a scenario that puts a gateway and the command post on ``air``
        without a UAV or mast). Told to the user, who meant a mesh profile or forgot a
        relay."""
        return [
            f"{p.node.name} ({p.name} on {p.radio.channel[1]})"
            for ports in self.channels.values()
            if ports[0].radio.profile.point_to_multipoint and not any(p.hub for p in ports)
            for p in ports
        ]

    @property
    def bytes(self) -> Counter[tuple[str, str]]:
        """(profile, "control" | "data") -> bytes sent, for each that sent any."""
        out: Counter[tuple[str, str]] = Counter()
        for port, kind, key in self._senders():
            out[key] += port.sent_bytes[kind]
        return out

    @property
    def airtime(self) -> dict[tuple[str, str], float]:
        """(profile, "control" | "data") -> seconds of air time spent sending."""
        out: dict[tuple[str, str], float] = {}
        for port, kind, key in self._senders():
            out[key] = out.get(key, 0.0) + port.sent_airtime[kind]
        return out

    def _senders(self) -> list[tuple[Port, int, tuple[str, str]]]:
        """(port, 0 for control or 1 for data, its tally key) for every port that sent."""
        return [
            (p, kind, (p.radio.profile.name, name))
            for p in self.ports.values()
            for kind, name in enumerate(("control", "data"))
            if p.sent_bytes[kind]
        ]

    def links_up(self) -> list[tuple[Port, Port, float]]:
        return [
            (a, link[0], link[1])
            for a in self.ports.values()
            for link in a.links
            if a.node.index < link[0].node.index
        ]

    # -- frames ------------------------------------------------------------------------

    def send(
        self,
        now: float,
        port: Port,
        t: Transmit,
        schedule: Schedule,
        arrive: Callable[[Arrival], object],
    ) -> None:
        """Put the frame on the air: ``schedule(when, arrive, arrival)`` for every port
        that will get it (``Kernel.at`` itself: no wrapper per link)."""
        nbytes = len(t.data)
        airtime = port.airtimes.get(nbytes)
        if airtime is None:
            airtime = port.airtimes[nbytes] = port.radio.profile.airtime_s(nbytes)
        start = max(now, port.busy_until)
        end = start + airtime
        port.busy_until = end
        # Tallied per port, added up once at the end (bytes, airtime): a tuple-keyed tally
        # here cost a tenth of sending.
        kind = 0 if t.priority is Priority.CONTROL else 1
        port.sent_bytes[kind] += nbytes
        port.sent_airtime[kind] += airtime
        self.frames_sent += 1
        if port.tracker is not None:
            port.tracker.transmitting(start, end)
        if port.links:
            self._radiate(port, t, start, end, schedule=schedule, arrive=arrive)

    def _radiate(
        self,
        port: Port,
        t: Transmit,
        start: float,
        end: float,
        *,
        schedule: Schedule,
        arrive: Callable[[Arrival], object],
    ) -> None:
        """Hand the frame to every port in range that gets it: the loop runs once per
        link per frame, so what does not change during it is looked up once."""
        node, data, next_hop = port.node, t.data, t.next_hop
        unicast_only = port.tracker is None and next_hop != ALL_HANDS
        may_cut = bool(self.cuts) or bool(self.partitions)
        fade = self.rng.random
        frame_id = self._frame_id
        for rx, q, delay, dbm in port.links:
            if unicast_only and rx.node.address != next_hop:
                continue
            if may_cut and self._cut(node, rx.node):
                self.lost["cut"] += 1
                continue
            if q < 1.0 and fade() >= q:
                self.lost["fading"] += 1
                continue
            frame_id += 1
            at = end + delay
            if rx.tracker is not None:
                rx.tracker.begin(frame_id, start + delay, at, dbm)
            schedule(at, arrive, (rx, data, frame_id))
        self._frame_id = frame_id

    def arrives(self, arrival: Arrival) -> bool:
        """At the frame's end at the receiver: does the receiver get it?"""
        rx = arrival[0]
        tracker = rx.tracker
        if tracker is not None and not tracker.survived(arrival[2]):
            self.lost["collision"] += 1
            return False
        if not rx.node.alive:
            return False
        if self.jams and any(j.covers(rx) for j in self.jams):
            self.lost["jammed"] += 1
            return False
        self.frames_received += 1
        return True

    def _cut(self, a: SimNode, b: SimNode) -> bool:
        if self.cuts and self.cuts[(min(a.index, b.index), max(a.index, b.index))]:
            return True
        return bool(
            self.partitions
            and a.team != b.team
            and (self.partitions[a.team or ""] or self.partitions[b.team or ""])
        )
