"""The emulated air: the simulator's link model, asked datagram by datagram.

Rules kept here:
- Who hears whom, how well and how late comes from ``sim.medium.Medium`` over the
  scenario's own nodes and tracks (positions at emulated time, refreshed every topology
  interval), so the channel and the simulator share one model.
- A transmission from N reaches each port in range on N's channel that survives, in
  order: a cut or partition between the two, jamming at the receiver, then the loss draw
  (seeded). A frame for one next hop goes only to that neighbour, as in the simulator:
  the others would drop it unopened. A radio sends one frame at a time: a frame starts
  when the previous one has left (the profile's air time) and arrives a propagation delay
  after it ends.
- A unicast from M to N passes the same tests for the one link M -> N.
- Every verdict is counted per directed link: delivered, lost (fading), cut, jammed.
This module opens no socket and reads no clock: ``t`` (seconds of emulated time) is given.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tacmesh.protocol.addresses import ALL_HANDS
from tacmesh.protocol.fragment import FRAGMENT_BYTE0
from tacmesh.sim.build import Built
from tacmesh.sim.medium import Jam, Medium, Port

HEADER_NEXT_HOP = slice(10, 12)
"""Bytes of the next hop in a frame header (SPEC.md §4.3); fragments carry none."""

PortKey = tuple[int, str]
"""(node index, interface name)."""


def next_hop(data: bytes) -> int | None:
    """The frame's next hop, or None for fragments and runts (sent to everyone)."""
    if len(data) < 12 or data[0] == FRAGMENT_BYTE0:
        return None
    return int.from_bytes(data[HEADER_NEXT_HOP], "big")


@dataclass(slots=True)
class Air:
    built: Built
    medium: Medium
    rng: random.Random
    topology_interval_s: float
    counters: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    moved_at: float = float("-inf")

    @classmethod
    def of(cls, built: Built, seed: int, topology_interval_s: float) -> Air:
        medium = Medium(built.nodes, seed, random.Random(f"air {seed}"))
        return cls(built, medium, random.Random(f"channel {seed}"), topology_interval_s)

    def move(self, t: float) -> None:
        """Positions at ``t``, links recomputed (at most once per topology interval)."""
        if t - self.moved_at < self.topology_interval_s:
            return
        self.moved_at = t
        for n in self.built.nodes:
            n.position = n.track.position(t)
        self.medium.refresh()

    def transmit(self, t: float, sender: PortKey, data: bytes) -> list[tuple[float, PortKey]]:
        """Node ``sender[0]`` sends ``data``: (delay from now, receiver) for each copy."""
        self.move(t)
        port = self.medium.ports[sender]
        hop = next_hop(data)
        ends = self._airtime(t, port, len(data))
        out = []
        for rx, q, delay, _ in port.links:
            if hop is not None and hop not in (ALL_HANDS, rx.node.address):
                continue
            if self._passes(port, rx, q):
                out.append((ends - t + delay, (rx.node.index, rx.name)))
        return out

    def unicast(self, t: float, sender: PortKey, receiver: PortKey, data: bytes) -> float | None:
        """Node ``sender[0]`` sends to ``receiver`` only: the delay, or None if lost."""
        self.move(t)
        port, rx_port = self.medium.ports[sender], self.medium.ports[receiver]
        link = next((x for x in port.links if x[0] is rx_port), None)
        if link is None:
            self._count(port, rx_port, "out_of_range")
            return None
        ends = self._airtime(t, port, len(data))
        return ends - t + link[2] if self._passes(port, rx_port, link[1]) else None

    def _airtime(self, t: float, port: Port, size: int) -> float:
        start = max(t, port.busy_until)
        port.busy_until = start + port.radio.profile.airtime_s(size)
        return port.busy_until

    def _passes(self, tx: Port, rx: Port, q: float) -> bool:
        if self.medium._cut(tx.node, rx.node):
            verdict = "cut"
        elif self.medium.jams and any(j.covers(rx) for j in self.medium.jams):
            verdict = "jammed"
        elif q < 1.0 and self.rng.random() >= q:
            verdict = "lost"
        else:
            verdict = "delivered"
        self._count(tx, rx, verdict)
        return verdict == "delivered"

    def _count(self, tx: Port, rx: Port, verdict: str) -> None:
        key = (tx.node.name, rx.node.name)
        self.counters.setdefault(key, Counter())[verdict] += 1

    # -- failures the channel applies ---------------------------------------------------

    def strike(self, failure: dict[str, Any], step: int) -> None:
        """Apply (``step`` +1) or lift (-1) a cut, partition or jamming from the plan."""
        kind = failure["kind"]
        if kind == "link_cut":
            a, b = failure["pair"]
            self.medium.cuts[(min(a, b), max(a, b))] += step
        elif kind == "partition":
            self.medium.partitions[failure["team"]] += step
        elif kind == "jamming":
            jam = Jam(tuple(failure["center"]), failure["radius_m"], failure["profile"])
            if step > 0:
                self.medium.jams.append(jam)
            elif jam in self.medium.jams:
                self.medium.jams.remove(jam)

    def report(self) -> list[dict[str, Any]]:
        return [
            {"from": a, "to": b, **dict(sorted(c.items()))}
            for (a, b), c in sorted(self.counters.items())
        ]
