"""The channel process: every node's presence on the emulated air, one UDP socket each.

``python -m tacmesh.sim.emulate.channel --plan plan.json`` (written by ``layout``).

Rules kept here:
- One socket per (node, radio), the only peer in that radio's ``node.toml``. A datagram
  arriving there from the node's own daemon is the node transmitting: each copy the air
  lets through is sent FROM the sender's socket to the receiving daemon, so every daemon
  learns a neighbour's endpoint as that neighbour's channel socket.
- A datagram arriving at N's socket from another node M's daemon is M unicasting to N:
  delivered to N's daemon only, from M's socket. A broadcast frame arriving that way is
  the copy a daemon without multicast also sends to each neighbour it learned; M's own
  socket already carried it, so it is dropped and counted as ``echo``.
- Emulated time starts at the line ``start`` on stdin (positions stay at time 0 before);
  the plan's cuts, partitions and jamming strike at their times from then. End of stdin
  or SIGTERM ends the process after writing the counters to the plan's ``counters`` file.
- One asyncio loop; copies are delayed with the loop's timer heap, except delays under
  ``IMMEDIATE_S``, which the loop's own scheduling already exceeds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tacmesh.protocol.addresses import ALL_HANDS
from tacmesh.sim.build import build
from tacmesh.sim.emulate.air import Air, PortKey, next_hop
from tacmesh.sim.scenario import load_scenario
from tacmesh.sim.world import START_EPOCH

IMMEDIATE_S = 0.0005
Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Plan:
    scenario: str
    duration_s: float
    counters: Path | None
    ports: dict[PortKey, tuple[Address, Address]]
    """(node, iface) -> (daemon endpoint, channel socket endpoint)."""
    failures: list[dict[str, Any]]

    @classmethod
    def load(cls, path: Path) -> Plan:
        raw = json.loads(path.read_text())
        ports = {
            (int(p["node"]), str(p["iface"])): (_addr(p["daemon"]), _addr(p["channel"]))
            for p in raw["ports"]
        }
        counters = Path(raw["counters"]) if raw.get("counters") else None
        return cls(raw["scenario"], float(raw["duration_s"]), counters, ports, raw["failures"])

    def air(self) -> Air:
        scenario = load_scenario(self.scenario)
        scenario = dataclasses.replace(scenario, duration_s=self.duration_s)
        built = build(scenario, START_EPOCH)
        return Air.of(built, scenario.seed, scenario.topology_interval_s)


def _addr(value: list[Any]) -> Address:
    return (str(value[0]), int(value[1]))


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, channel: Channel, key: PortKey) -> None:
        self.channel, self.key = channel, key

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.channel.received(self.key, data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: a daemon that was killed. Its frames are lost, as on air.
        self.channel.counters["send_errors"] += 1


class Channel:
    def __init__(self, plan: Plan, air: Air) -> None:
        self.plan, self.air = plan, air
        self.transports: dict[PortKey, asyncio.DatagramTransport] = {}
        self.by_daemon = {daemon: key for key, (daemon, _) in plan.ports.items()}
        self.counters: Counter[str] = Counter()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.t0: float | None = None
        self.timers: list[asyncio.TimerHandle] = []

    async def open(self) -> None:
        self.loop = asyncio.get_running_loop()
        for key, (_, local) in self.plan.ports.items():
            transport, _ = await self.loop.create_datagram_endpoint(
                functools.partial(_Socket, self, key), local_addr=local
            )
            self.transports[key] = transport

    def now(self) -> float:
        """Seconds of emulated time (0 until started)."""
        if self.t0 is None or self.loop is None:
            return 0.0
        return self.loop.time() - self.t0

    def start(self) -> None:
        """Emulated time 0 is now: schedule the plan's failures."""
        assert self.loop is not None
        self.t0 = self.loop.time()
        for failure in self.plan.failures:
            at = self.t0 + float(failure["at_s"])
            self.timers.append(self.loop.call_at(at, self.air.strike, failure, +1))
            if failure.get("duration_s") is not None:
                until = at + float(failure["duration_s"])
                self.timers.append(self.loop.call_at(until, self.air.strike, failure, -1))

    def received(self, key: PortKey, data: bytes, addr: Address) -> None:
        daemon, _ = self.plan.ports[key]
        if addr == daemon:
            self.counters["transmissions"] += 1
            for delay, rx in self.air.transmit(self.now(), key, data):
                self._forward(key, rx, data, delay)
            return
        sender = self.by_daemon.get(addr)
        if sender is None:
            self.counters["strangers"] += 1
        elif next_hop(data) == ALL_HANDS:
            self.counters["echo"] += 1
        else:
            self.counters["unicasts"] += 1
            late = self.air.unicast(self.now(), sender, key, data)
            if late is not None:
                self._forward(sender, key, data, late)

    def _forward(self, sender: PortKey, receiver: PortKey, data: bytes, delay: float) -> None:
        if delay < IMMEDIATE_S or self.loop is None:
            self._send(sender, receiver, data)
        else:
            self.loop.call_later(delay, self._send, sender, receiver, data)

    def _send(self, sender: PortKey, receiver: PortKey, data: bytes) -> None:
        transport = self.transports.get(sender)
        if transport is not None and not transport.is_closing():
            transport.sendto(data, self.plan.ports[receiver][0])
            self.counters["copies"] += 1

    def report(self) -> dict[str, Any]:
        return {"totals": dict(self.counters), "links": self.air.report()}

    def close(self) -> None:
        for timer in self.timers:
            timer.cancel()
        for transport in self.transports.values():
            transport.close()
        if self.plan.counters is not None:
            self.plan.counters.write_text(json.dumps(self.report(), indent=1) + "\n")


async def serve(plan: Plan) -> None:
    """Run until SIGTERM or end of stdin; ``start`` on stdin starts emulated time."""
    channel = Channel(plan, plan.air())
    await channel.open()
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_reader(sys.stdin.fileno(), _command, channel, stop)
    print("ready", flush=True)  # the emulator waits for this line before starting daemons
    try:
        await stop.wait()
    finally:
        loop.remove_reader(sys.stdin.fileno())
        channel.close()


def _command(channel: Channel, stop: asyncio.Event) -> None:
    line = sys.stdin.readline()
    if not line:  # the emulator is gone: do not outlive it
        stop.set()
    elif line.strip() == "start":
        channel.start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tacmesh.sim.emulate.channel",
        description="The emulated air between tacmesh daemons (started by tacmesh sim emulate).",
    )
    parser.add_argument("--plan", type=Path, required=True, help="plan.json of the run")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(Plan.load(args.plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
