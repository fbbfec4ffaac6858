"""Each simulated node's engine, driven as a daemon drives it.

Frames in, frames out, one timer armed at the engine's next deadline: the per-event glue
between the kernel, the medium and the engines. It runs on every event of a run (a frame
reaching a radio, a node's timer), so it lives apart from the world's set-up, traffic and
failures, in a module the compiled core includes (README, "The compiled core").
"""

from __future__ import annotations

from collections.abc import Callable

from tacmesh.protocol.engine.events import Transmit
from tacmesh.sim.build import SimNode
from tacmesh.sim.kernel import Kernel
from tacmesh.sim.medium import Arrival, Medium, Port
from tacmesh.sim.metrics import Ledger

Tap = Callable[[float, SimNode, Port, bytes, str], None]
"""Sees every frame sent ("tx") and received ("rx"), with the scenario's time (pcap)."""


class Driver:
    def __init__(
        self, kernel: Kernel, medium: Medium, ledger: Ledger, epoch: float, tap: Tap | None
    ) -> None:
        self.kernel = kernel
        self.medium = medium
        self.ledger = ledger
        self.epoch = epoch
        """The kernel's time at the scenario's second 0."""
        self.tap = tap
        self.on_arrival: Callable[[Arrival], None] = self.arrive
        """What the medium calls when a frame has reached a radio. Replaced only by the
        test that proves :meth:`arrive`'s shortcut exact (a compiled class's methods
        cannot be patched)."""

    def arm(self, n: SimNode) -> None:
        """Set the node's one timer at its engine's next deadline, unless already there."""
        if not n.alive:
            return
        deadline = n.engine.next_deadline()
        if n.timer_at == deadline:
            return
        n.timer_at = deadline
        self.kernel.at(deadline, self.timer, (n, deadline))

    def timer(self, arg: tuple[SimNode, float]) -> None:
        n, deadline = arg
        if not n.alive or n.timer_at != deadline:
            return  # a newer timer replaced this one, or the node is gone
        n.timer_at = None
        n.engine.handle_timer(self.kernel.now)
        self.after(n)

    def after(self, n: SimNode) -> None:
        """Take what the engine produced: deliveries to the ledger, frames to the air."""
        engine, now = n.engine, self.kernel.now
        for d in engine.pop_deliveries():
            h = d.message.header
            self.ledger.delivered(now - self.epoch, n.address, h.source, h.message_id)
        for t in engine.pop_transmits():
            self.transmit(n, t)
        self.arm(n)

    def transmit(self, n: SimNode, t: Transmit) -> None:
        kernel = self.kernel
        port = self.medium.ports[(n.index, t.interface)]
        if self.tap is not None:
            self.tap(kernel.now - self.epoch, n, port, t.data, "tx")
        self.medium.send(kernel.now, port, t, kernel.at, self.on_arrival)

    def arrive(self, arrival: Arrival) -> None:
        """A frame has reached a radio: the engine gets it if the medium let it through.
        Outputs are collected and the timer re-armed only when the engine says the frame
        stirred it (NodeEngine.receive): most frames on a shared channel do not."""
        if not self.medium.arrives(arrival):
            return
        port, data, _ = arrival
        n = port.node
        if self.tap is not None:
            self.tap(self.kernel.now - self.epoch, n, port, data, "rx")
        if n.engine.receive(self.kernel.now, port.name, data):
            self.after(n)
