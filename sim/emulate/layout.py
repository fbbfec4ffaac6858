"""What an emulation run puts on disk before anything starts: keys, node.toml, the plan.

Rules kept here:
- Only small scenarios (``MAX_NODES``) of IP-class radios (kinds wifi, lte, air) can be
  emulated: the daemon carries nothing else over UDP. Both are refused with the reason.
- Each node's ``node.toml`` has ONE ``[[interface]]`` per radio, named as the simulator
  names it, bound to the node's own address and whose only peer is that node's socket on
  the channel process for that radio's channel; no multicast.
- A node keeps its simulated address, role and groups (the sim's team number goes into
  ``groups``: certificates reserve team 0 for "no team"); a gateway announces its team's
  block. Every node's link parameters are read back through the daemon's own config
  loader and any that differ from the simulated radio are reported, not hidden.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tacmesh.node.config import load_config
from tacmesh.node.keys import create_mission, issue_node, refresh_bundle
from tacmesh.protocol.addresses import format_address, team_group
from tacmesh.sim.build import Built, SimNode
from tacmesh.sim.emulate.netns import node_addresses
from tacmesh.sim.scenario.render import string

MAX_NODES = 16
IP_BASES = {"wifi": "wifi-mesh", "lte": "lte", "air": "air"}
"""Radio kind -> the daemon's built-in profile that kind rides on (node.toml ``radio``)."""
DAEMON_PORT = 4880
CHANNEL_PORT = 5880
LOOPBACK = "127.0.0.1"
CALLSIGN_MAX = 32
IGNORED_FIELDS = {"name", "subnet", "tag_len"}
"""Interface fields not compared with the simulator's: the name is copied, ``subnet`` is
written explicitly, and the UDP bearer fixes the tag length."""


class EmulationError(RuntimeError):
    """The scenario cannot be emulated, or the emulation could not start; says why."""


@dataclass(frozen=True, slots=True)
class PortPlan:
    """One radio of one node: where its daemon listens and its socket on the channel."""

    node: int
    """The node's index in the built scenario."""
    iface: str
    daemon: tuple[str, int]
    channel: tuple[str, int]


@dataclass(slots=True)
class NodeLayout:
    node: SimNode
    config: Path
    socket: Path
    log: Path
    netns: str | None = None


def check_emulable(built: Built) -> None:
    if len(built.nodes) > MAX_NODES:
        raise EmulationError(
            f"the scenario has {len(built.nodes)} nodes; emulation runs one daemon process "
            f"per node and takes at most {MAX_NODES} (use `tacmesh sim run` for large ones)"
        )
    for n in built.nodes:
        for name, radio in n.radios.items():
            if radio.profile.kind not in IP_BASES:
                raise EmulationError(
                    f"node {n.name!r} radio {name!r} is {radio.profile.kind} "
                    f"({radio.profile.name}); the daemon carries only IP radios "
                    f"({', '.join(IP_BASES)}) over UDP, so it cannot be emulated"
                )


def plan_ports(built: Built, netns: bool) -> list[PortPlan]:
    """Addresses for every radio: node i's veth addresses in namespaces, else loopback."""
    out: list[PortPlan] = []
    radios = [(n, iface) for n in built.nodes for iface in n.radios]
    free = [] if netns else free_udp_ports(2 * len(radios))
    for k, (n, iface) in enumerate(radios):
        if netns:
            channel_host, node_host = node_addresses(n.index + 1)
            slot = list(n.radios).index(iface)
            daemon, channel = (node_host, DAEMON_PORT + slot), (channel_host, CHANNEL_PORT + slot)
        else:
            daemon, channel = (LOOPBACK, free[2 * k]), (LOOPBACK, free[2 * k + 1])
        out.append(PortPlan(n.index, iface, daemon, channel))
    return out


def free_udp_ports(count: int) -> list[int]:
    """Ports free right now on 127.0.0.1 (held open together so they differ)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind((LOOPBACK, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def write_keys(built: Built, root: Path) -> dict[str, Path]:
    """A mission in ``root/mission`` and a bundle per node holding every certificate."""
    now = time.time()
    create_mission(root / "mission", "emulation", now, force=True)
    bundles: dict[str, Path] = {}
    for n in built.nodes:
        out = root / "bundles" / n.name
        issue_node(root / "mission", address=n.address, role=n.role,
                   callsign=n.name.upper()[:CALLSIGN_MAX], team=None, days=2, out=out,
                   now=now, force=True)  # fmt: skip
        bundles[n.name] = out
    for out in bundles.values():
        refresh_bundle(root / "mission", out)
    return bundles


def write_config(layout: NodeLayout, built: Built, bundle: Path, ports: list[PortPlan],
                 state: Path) -> list[str]:  # fmt: skip
    """Write the node's ``node.toml``; the link parameters that differ from the sim's."""
    n = layout.node
    lines = ["[node]", f"keys = {_q(bundle)}", f"state = {_q(state)}"]
    if n.config.prefixes:
        prefixes = ", ".join(_q(str(p)) for p in n.config.prefixes)  # "0x1000/8"
        lines.append(f"prefixes = [{prefixes}]")
    if n.team is not None:
        lines.append(f"groups = [{_q(format_address(team_group(built.teams[n.team][0])))}]")
    lines += ["", "[api]", f"socket = {_q(layout.socket)}", "", "[log]", 'level = "warning"']
    for p in ports:
        lines += ["", *_interface(n, p)]
    layout.config.write_text("\n".join(lines) + "\n")
    return _differences(layout, ports)


def _interface(n: SimNode, p: PortPlan) -> list[str]:
    """One ``[[interface]]``: the simulated radio's parameters, the channel as only peer."""
    iface, profile = n.radios[p.iface].interface, n.radios[p.iface].profile
    return [
        "[[interface]]",
        f"name = {_q(p.iface)}",
        f"bind = {_q(_endpoint(p.daemon))}",
        f"peers = [{_q(_endpoint(p.channel))}]",
        "multicast = false",
        f"radio = {_q(IP_BASES[profile.kind])}",
        f"cost = {iface.cost}",
        f"hello_interval_s = {iface.hello_interval_s}",
        f"mtu = {iface.mtu}",
        f"subnet = {'true' if iface.subnet else 'false'}",
    ]


def _differences(layout: NodeLayout, ports: list[PortPlan]) -> list[str]:
    settings = load_config(layout.config)
    out = []
    for link, p in zip(settings.links, ports, strict=True):
        want = layout.node.radios[p.iface].interface
        for f in fields(want):
            a, b = getattr(link.engine, f.name), getattr(want, f.name)
            if f.name not in IGNORED_FIELDS and a != b:
                out.append(f"{layout.node.name}/{p.iface}: {f.name} {a!r} (sim {b!r})")
    return out


def write_plan(path: Path, scenario_file: str, duration_s: float, *, ports: list[PortPlan],
               failures: list[dict[str, Any]], counters: Path) -> None:  # fmt: skip
    """The channel process's instructions (read by ``channel.Plan.load``)."""
    plan = {
        "scenario": scenario_file,
        "duration_s": duration_s,
        "counters": str(counters),
        "ports": [
            {"node": p.node, "iface": p.iface, "daemon": list(p.daemon),
             "channel": list(p.channel)}
            for p in ports
        ],
        "failures": failures,
    }  # fmt: skip
    path.write_text(json.dumps(plan, indent=1) + "\n")


def _endpoint(addr: tuple[str, int]) -> str:
    return f"{addr[0]}:{addr[1]}"


def _q(value: object) -> str:
    return string(str(value))
