"""The failover scenario of the engines issue, shared by ``bench/failover.py`` and tests.

Two gateways exchange traffic across a relay R; a longer path through S1 and S2 is the
alternative. Each gateway announces 50 team prefixes (100 in the network). The relay then
dies silently, or announces its departure and leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from tacmesh.protocol.addresses import Prefix, Role
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.pb import messages_pb2
from tacmesh.sim.mini import MiniNet

GW1, RELAY, GW2, S1, S2 = 0x0010, 0x0020, 0x0030, 0x0040, 0x0050
LINKS = [(GW1, RELAY), (RELAY, GW2), (GW1, S1), (S1, S2), (S2, GW2)]
SETTLE_S = 30.0
MEASURE_S = 120.0
TRAFFIC_EVERY_S = 0.01


def _iface(peer: int) -> InterfaceConfig:
    return InterfaceConfig(f"to{peer:04x}")


def team_prefixes(first: int, count: int) -> tuple[Prefix, ...]:
    return tuple(Prefix((first + i) << 8, 8) for i in range(count))


def build(seed: int = 1) -> MiniNet:
    net = MiniNet(seed=seed)
    peers: dict[int, list[int]] = {}
    for a, b in LINKS:
        peers.setdefault(a, []).append(b)
        peers.setdefault(b, []).append(a)
    prefixes = {GW1: team_prefixes(0x20, 50), GW2: team_prefixes(0x60, 50)}
    for node, ps in sorted(peers.items()):
        role = Role.GATEWAY if node in prefixes else Role.GROUND_BACKBONE
        net.add_node(node, [_iface(p) for p in ps], role=role, prefixes=prefixes.get(node, ()))
    for a, b in LINKS:
        net.connect(a, _iface(b).name, b, _iface(a).name, delay_s=0.002)
    return net


@dataclass
class Traffic:
    """A steady flow from GW1 to GW2, one small message every ``TRAFFIC_EVERY_S``."""

    net: MiniNet
    until: float
    sent: int = 0

    def start(self) -> None:
        self._tick()

    def _tick(self) -> None:
        if self.net.now >= self.until:
            return
        self.net.send(GW1, GW2, FrameType.TEXT, messages_pb2.Text(body=f"{self.sent}"))
        self.sent += 1
        self.net.at(self.net.now + TRAFFIC_EVERY_S, self._tick)


@dataclass(frozen=True)
class FailoverResult:
    hello_interval_s: float
    control_bytes_per_s_per_interface: float
    silent_failover_s: float
    lost_packets: int


def _control_rate(net: MiniNet, before: dict[tuple[int, str], int], seconds: float) -> float:
    return max(
        (net.control_bytes.get(k, 0) - before.get(k, 0)) / seconds for k in net.control_bytes
    )


def silent_failover(seed: int = 1) -> FailoverResult:
    net = build(seed)
    net.run_for(SETTLE_S)
    before = dict(net.control_bytes)
    net.run_for(MEASURE_S)
    rate = _control_rate(net, before, MEASURE_S)
    traffic = Traffic(net, until=net.now + 10.0)
    traffic.start()
    net.run_for(2.0)
    killed_at = net.now
    net.kill(RELAY)
    net.run_for(12.0)
    after = [
        r.at
        for r in net.received
        if r.node == GW2 and r.at > killed_at and r.delivery.message.header.transmitter != RELAY
    ]
    delivered = sum(1 for r in net.received if r.node == GW2)
    return FailoverResult(
        hello_interval_s=_iface(0).hello_interval_s,
        control_bytes_per_s_per_interface=rate,
        silent_failover_s=(min(after) - killed_at) if after else float("inf"),
        lost_packets=traffic.sent - delivered,
    )


def planned_handoff(seed: int = 1, notice_s: float = 10.0) -> int:
    """Lost packets when the relay announces its departure ``notice_s`` ahead, then leaves."""
    net = build(seed)
    net.run_for(SETTLE_S)
    traffic = Traffic(net, until=net.now + 3 * notice_s)
    traffic.start()
    net.run_for(2.0)
    net.do(RELAY, lambda engine, now: engine.announce_departure(now, notice_s))
    net.at(net.now + notice_s, lambda: net.kill(RELAY))
    net.run_for(3 * notice_s + 5.0)
    delivered = sum(1 for r in net.received if r.node == GW2)
    return traffic.sent - delivered
