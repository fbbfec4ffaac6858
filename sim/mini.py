"""A minimal virtual network: engines joined by links in virtual time (on the sim kernel).

The test harness of the protocol engines and the seed of the simulator kernel: it drives
each :class:`NodeEngine` exactly as a daemon would (frames in, frames out, one timer at
the engine's next deadline), on links with delay and loss, and can kill a node silently
or cut a link with or without a link-down signal.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tacmesh.protocol.addresses import Prefix, Role
from tacmesh.protocol.engine.config import InterfaceConfig, NodeConfig
from tacmesh.protocol.engine.events import Delivery
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.priority import Priority
from tacmesh.sim.kernel import Kernel
from tacmesh.sim.mission import SimMission

START = 1_790_000_000.0


@dataclass
class Attachment:
    """One end of a link: frames sent on (node, interface) arrive at each peer end."""

    node: int
    interface: str
    delay_s: float
    loss: float
    up: bool = True


@dataclass
class Received:
    at: float
    node: int
    delivery: Delivery


def _call(action: Callable[[], None]) -> None:
    action()


class MiniNet:
    def __init__(self, seed: int = 1, start: float = START) -> None:
        self.kernel = Kernel(start)
        self.rng = random.Random(seed)
        self.mission = SimMission(seed, start)
        self.engines: dict[int, NodeEngine] = {}
        self.alive: set[int] = set()
        self.links: dict[tuple[int, str], list[Attachment]] = {}
        self.received: list[Received] = []
        self.sent_bytes: dict[tuple[int, str], int] = {}
        self.control_bytes: dict[tuple[int, str], int] = {}
        self._timer_at: dict[int, float] = {}

    # -- building ----------------------------------------------------------------------

    def add_node(
        self,
        address: int,
        interfaces: list[InterfaceConfig],
        *,
        role: Role = Role.GROUND_BACKBONE,
        prefixes: tuple[Prefix, ...] = (),
        groups: frozenset[int] = frozenset(),
        **config: Any,
    ) -> NodeEngine:
        cfg = NodeConfig(address, tuple(interfaces), prefixes=prefixes, groups=groups, **config)
        codec = self.mission.enrol(address, role)
        engine = NodeEngine(cfg, codec, random.Random(self.rng.random()), self.now)
        self.engines[address], self.alive = engine, self.alive | {address}
        self._arm(address)
        return engine

    def connect(
        self,
        a: int,
        a_iface: str,
        b: int,
        b_iface: str,
        *,
        delay_s: float = 0.002,
        loss: float = 0.0,
    ) -> None:
        """A bidirectional link; several links on one interface make a shared medium."""
        self.links.setdefault((a, a_iface), []).append(Attachment(b, b_iface, delay_s, loss))
        self.links.setdefault((b, b_iface), []).append(Attachment(a, a_iface, delay_s, loss))

    # -- failures ----------------------------------------------------------------------

    def kill(self, address: int) -> None:
        """Silent death: the node stops sending and hears nothing; no one is told."""
        self.alive.discard(address)

    def cut(self, a: int, b: int, *, signal: bool) -> None:
        """Cut every link between ``a`` and ``b``; with ``signal`` both sides get link-down."""
        for (node, iface), ends in self.links.items():
            for end in ends:
                if {node, end.node} == {a, b} and end.up:
                    end.up = False
                    if signal and node in self.alive:
                        self.engines[node].link_down(self.now, iface, end.node)
                        self._after(node)

    def heal(self, a: int, b: int) -> None:
        for (node, _), ends in self.links.items():
            for end in ends:
                if {node, end.node} == {a, b}:
                    end.up = True

    # -- traffic and time --------------------------------------------------------------

    def send(self, src: int, dst: int, *args: Any, **kw: Any) -> int:
        msg_id = self.engines[src].send(self.now, dst, *args, **kw)
        self._after(src)
        return msg_id

    def do(self, address: int, action: Callable[[NodeEngine, float], object]) -> None:
        """Call an engine input now (``lambda engine, now: engine.announce_departure(now, 10)``)
        and put what it produced on the links."""
        action(self.engines[address], self.now)
        self._after(address)

    @property
    def now(self) -> float:
        return self.kernel.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        self.kernel.at(when, _call, action)

    def run_until(self, until: float) -> None:
        self.kernel.run_until(until)

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    # -- plumbing ----------------------------------------------------------------------

    def _arm(self, address: int) -> None:
        deadline = self.engines[address].next_deadline()
        if self._timer_at.get(address) == deadline:
            return
        self._timer_at[address] = deadline
        self.at(max(deadline, self.now), lambda: self._timer(address, deadline))

    def _timer(self, address: int, deadline: float) -> None:
        if address not in self.alive or self._timer_at.get(address) != deadline:
            return
        self._timer_at.pop(address, None)
        self.engines[address].handle_timer(self.now)
        self._after(address)

    def _after(self, address: int) -> None:
        """Collect what an engine produced: put its frames on links, record deliveries."""
        engine = self.engines[address]
        for d in engine.pop_deliveries():
            self.received.append(Received(self.now, address, d))
        for t in engine.pop_transmits():
            key = (address, t.interface)
            self.sent_bytes[key] = self.sent_bytes.get(key, 0) + len(t.data)
            if t.priority is Priority.CONTROL:
                self.control_bytes[key] = self.control_bytes.get(key, 0) + len(t.data)
            for end in self.links.get(key, []):
                if end.up and self.rng.random() >= end.loss:
                    self.at(self.now + end.delay_s, self._arrival(end, t.data))
        self._arm(address)

    def _arrival(self, end: Attachment, data: bytes) -> Callable[[], None]:
        def arrive() -> None:
            if end.node in self.alive and end.up:
                self.engines[end.node].receive(self.now, end.interface, data)
                self._after(end.node)

        return arrive
