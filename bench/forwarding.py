"""How many frames a node relays per second on loopback, against Python's own ceiling.

Usage: python bench/forwarding.py [--seconds S]

In one run, on 127.0.0.1, with the same sender and sink (this process) and the relay in
its own process:
  (a) baseline: a minimal asyncio UDP relay that only receives and re-sends datagrams;
  (b) tacmesh: a real `tacmesh node run` relay between two peers, verifying every frame's
      hop tag and replay window, routing it, re-protecting it with its own counter and
      sending it on (VITALS frames, 4-byte body, 16-byte tags as on UDP).
The sender blasts as fast as it can; the figure is what reaches the sink per second
(the relay's socket drops the excess, as a saturated relay would).
Then, in process: custody_msgs_per_s, messages a relay takes into custody (committed to
its SQLite store before acknowledging), forwards and releases on the next hop's
acknowledgement, per second of the relay's own time.

Prints baseline_relay_pps, tacmesh_relay_pps, ratio_to_baseline, custody_msgs_per_s and,
last, relay_pps. Goals (ground node daemon issue): relay_pps >= 20,000 and ratio >= 0.4.
"""

from __future__ import annotations

import argparse
import random
import select
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tacmesh.node.api.client import ApiClientError, NodeClient
from tacmesh.node.config import parse_config
from tacmesh.node.keys import NodeKeys, create_mission, issue_node, load_bundle, refresh_bundle
from tacmesh.node.runtime.daemon import NodeDaemon
from tacmesh.node.store import NodeStore
from tacmesh.protocol.addresses import Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.compact import VitalSigns
from tacmesh.protocol.engine.config import InterfaceConfig, NodeConfig
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority

SENDER, RELAY, SINK = 0x0301, 0x0302, 0x0303
WINDOW = 256
BASELINE_RELAY = """
import asyncio, sys
class Relay(asyncio.DatagramProtocol):
    def connection_made(self, transport): self.t = transport
    def datagram_received(self, data, addr): self.t.sendto(data, ("127.0.0.1", int(sys.argv[2])))
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Relay, local_addr=("127.0.0.1", int(sys.argv[1])))
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="each measurement (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tacmesh-bench-") as tmp:
        keys = _mission(Path(tmp))
        frames = _frames(keys["sender"], int(args.seconds * 120_000))
        baseline = _baseline(frames, args.seconds)
        relayed = _tacmesh(Path(tmp), keys, frames, args.seconds)
        custody = _custody(Path(tmp), keys)
    print(f"baseline_relay_pps: {baseline:.0f}")
    print(f"tacmesh_relay_pps: {relayed:.0f}")
    print(f"ratio_to_baseline: {relayed / baseline:.2f}")
    print(f"custody_msgs_per_s: {custody:.0f}")
    print(f"relay_pps: {relayed:.0f}")


# -- setup ---------------------------------------------------------------------------------


def _mission(root: Path) -> dict[str, NodeKeys]:
    now = time.time()
    create_mission(root / "mission", "forwarding bench", now)
    roles = {"sender": (SENDER, Role.HANDHELD), "relay": (RELAY, Role.TEAM_RELAY),
             "sink": (SINK, Role.COMMAND_POST)}  # fmt: skip
    for name, (address, role) in roles.items():
        issue_node(root / "mission", address=address, role=role, callsign=name.upper(),
                   team=None, days=1, out=root / name, now=now)  # fmt: skip
    for name in roles:
        refresh_bundle(root / "mission", root / name)
    return {name: load_bundle(root / name) for name in roles}


def _codec(keys: NodeKeys) -> WireCodec:
    return WireCodec(keys.address, keys.identity, keys.trust(time.time()), keys.keyring)


def _frames(sender: NodeKeys, count: int) -> list[bytes]:
    """Authenticated VITALS frames from the sender to the sink through the relay."""
    codec, body = _codec(sender), VitalSigns(heart_rate_bpm=72, spo2_pct=97)
    out = []
    for counter in range(count):
        h = Header(FrameType.VITALS, Priority.ALERT, 8, 0, SENDER, counter, SINK, RELAY)
        out.append(codec.encode(h, body, tag_len=16))
    return out


def _socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


# -- measurements ----------------------------------------------------------------------------


def _baseline(frames: list[bytes], seconds: float) -> float:
    sender, sink = _socket(), _socket()
    relay_port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", BASELINE_RELAY, str(relay_port),
                             str(sink.getsockname()[1])])  # fmt: skip
    try:
        time.sleep(1.0)
        return _blast(sender, sink, ("127.0.0.1", relay_port), frames, seconds=seconds, peer=None)
    finally:
        proc.kill()
        proc.wait()
        sender.close()
        sink.close()


def _tacmesh(root: Path, keys: dict[str, NodeKeys], frames: list[bytes], seconds: float) -> float:
    sender, sink = _socket(), _socket()
    port = _free_port()
    peers = [f'"127.0.0.1:{s.getsockname()[1]}"' for s in (sender, sink)]
    config = root / "relay.toml"
    config.write_text(
        f'[node]\nkeys = "{root / "relay"}"\nstate = "{root / "relay.db"}"\n'
        f'[api]\nsocket = "{root / "relay.sock"}"\n'
        f'[[interface]]\nname = "lo"\nbind = "127.0.0.1:{port}"\npeers = [{", ".join(peers)}]\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "tacmesh.node.cli", "node", "run",
                             "--config", str(config)])  # fmt: skip
    try:
        peer = _SinkNode(keys["sink"], sink, ("127.0.0.1", port))
        _wait_for_route(root / "relay.sock", peer, sender)
        return _blast(sender, sink, ("127.0.0.1", port), frames, seconds=seconds, peer=peer)
    finally:
        proc.terminate()
        proc.wait(30)
        sender.close()
        sink.close()


class _SinkNode:
    """The sink's control plane (hellos, so the relay has a route to it); data frames are
    counted, not opened, so the sink costs the same as the baseline's."""

    def __init__(self, keys: NodeKeys, sock: socket.socket, relay: tuple[str, int]) -> None:
        iface = InterfaceConfig("lo")
        config = NodeConfig(keys.address, (iface,))
        self.engine = NodeEngine(config, _codec(keys), random.Random(1), time.time())
        self.sock, self.relay = sock, relay

    def control(self, data: bytes) -> None:
        self.engine.receive(time.time(), "lo", data)
        self.tick()

    def tick(self) -> None:
        now = time.time()
        if self.engine.next_deadline() <= now:
            self.engine.handle_timer(now)
        for t in self.engine.pop_transmits():
            self.sock.sendto(t.data, self.relay)
        self.engine.pop_deliveries()


def _wait_for_route(api: Path, peer: _SinkNode, sender: socket.socket) -> None:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        _drain(peer.sock, peer)
        _drain(sender, None)
        peer.tick()
        try:
            with NodeClient(api, timeout_s=1) as client:
                routes = client.request("routes")["routes"]
            if any(r["prefix"] == f"0x{SINK:04x}/16" and r["via"] for r in routes):
                return
        except ApiClientError:
            pass
        time.sleep(0.1)
    raise SystemExit("the relay found no route to the sink in 30 s; see its log above")


def _blast(sender: socket.socket, sink: socket.socket, relay: tuple[str, int],
           frames: list[bytes], *, seconds: float, peer: _SinkNode | None) -> float:  # fmt: skip
    """Keep WINDOW frames in flight: the relay always has work and its socket never
    overflows, so the figure is its throughput, not how much the kernel dropped."""
    received = sent = 0
    start = time.perf_counter()
    end = start + seconds
    while (now := time.perf_counter()) < end and sent < len(frames):
        while sent - received < WINDOW and sent < len(frames):
            sender.sendto(frames[sent], relay)
            sent += 1
        select.select([sink], [], [], 0.05)
        got = _drain(sink, peer)
        if got == 0 and sent - received >= WINDOW:
            received = sent - WINDOW // 2  # some were lost: let more go rather than stall
        received += got
        _drain(sender, None)
        if peer is not None:
            peer.tick()
    return received / (now - start)


def _drain(sock: socket.socket, peer: _SinkNode | None) -> int:
    """Read all waiting datagrams; count data frames, hand control frames to ``peer``."""
    data_frames = 0
    while True:
        try:
            data = sock.recv(65535)
        except BlockingIOError:
            return data_frames
        if data[0] >> 1 & 0x1F >= FrameType.POSITION:
            data_frames += 1
        elif peer is not None:
            peer.control(data)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _custody(root: Path, keys: dict[str, NodeKeys], count: int = 8192) -> float:
    """The relay daemon's own code (NodeDaemon, NodeStore with its commits) without its
    sockets: custody TEXT frames from the sender in batches of WINDOW // 4, the sink's
    engine acknowledging custody. Only the relay's time counts."""
    clock = [time.time()]
    settings = parse_config(f'[node]\nkeys = "{root / "relay"}"\nstate = "{root / "c.db"}"\n'
                            '[[interface]]\nname = "lo"\nbind = "127.0.0.1:9"\n'
                            'peers = ["127.0.0.1:9"]\n', root / "custody.toml")  # fmt: skip
    relay = NodeDaemon(settings, keys["relay"], NodeStore(settings.state), clock=lambda: clock[0])
    out: list[tuple[int, bytes]] = []
    link = relay.links["lo"]
    link.send = lambda next_hop, data: out.append((next_hop, data))  # type: ignore[method-assign]
    sink = _SinkNode(keys["sink"], None, ("", 0))  # type: ignore[arg-type]
    addr = ("127.0.0.1", 9)

    def exchange() -> float:
        """Relay's frames to the sink and back; returns the relay's share of the time."""
        sent, out[:] = [d for hop, d in out if hop in (SINK, 0xFFFF)], []
        sink.engine.receive_many(clock[0], "lo", sent)
        replies = [(t.data, addr) for t in sink.engine.pop_transmits()]
        start = time.perf_counter()
        if replies:
            relay._on_frames(link, replies)
        return time.perf_counter() - start

    for _ in range(8):  # hellos both ways until the relay routes to the sink
        clock[0] += 0.5
        relay._on_timer()
        sink.engine.handle_timer(clock[0])
        exchange()
    codec, body = _codec(keys["sender"]), messages_pb2.Text(body="casualty count 3 at grid 7")
    head = Header(FrameType.TEXT, Priority.TEXT, 8, 0, SENDER, 0, SINK, RELAY, custody=True)
    frames = [codec.encode(replace(head, counter=i), body, tag_len=16) for i in range(count)]
    spent, step = 0.0, WINDOW // 4
    for i in range(0, count, step):
        clock[0] += 0.002
        start = time.perf_counter()
        relay._on_frames(link, [(f, addr) for f in frames[i : i + step]])
        spent += time.perf_counter() - start + exchange()
    relay.close()
    released = relay.engine.counters["custody_released"]
    if released < count * 0.99:
        raise SystemExit(f"custody: only {released} of {count} messages were released")
    return released / spent


if __name__ == "__main__":
    main()
