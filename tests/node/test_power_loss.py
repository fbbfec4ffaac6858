"""Power loss in mid-transfer: every message a node accepted is delivered exactly once.

A line A - B - C of real daemons on loopback. An application on A sends a stream of text
messages to C; each is acknowledged to the application (committed on A) before the next.
At a random moment the relay B, or the destination C, is SIGKILLed and started again on
its store. Witness of exactly-once: C answers each text with one DELIVERY_ACK when it
first delivers it (SPEC.md §9.7), so A's application must see one "delivered" event per
message — a lost message gives none, a second delivery gives two.

Honest limit: SIGKILL ends the process, not the machine; an OS crash or a real power cut
also tests the disk's flush, which the store asks for (synchronous=FULL) but a test here
cannot pull the plug on.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest
from daemons import (
    Daemon,
    Fleet,
    Mission,
    free_udp_ports,
    route_to,
    wait_for,
    write_config,
)

from tacmesh.node.api.client import NodeClient
from tacmesh.protocol.addresses import Role

A, B, C = 0x0201, 0x0202, 0x0203
TRIALS = 10
MESSAGES = 12


@pytest.mark.slow
def test_acknowledged_messages_survive_sigkill_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(4880)
    mission = Mission.create(tmp_path, {"a": (A, Role.HANDHELD), "b": (B, Role.TEAM_RELAY),
                                        "c": (C, Role.COMMAND_POST)})  # fmt: skip
    ports = dict(zip("abc", free_udp_ports(3), strict=True))
    peers = {"a": "b", "b": "ac", "c": "b"}
    fleet = Fleet()
    try:
        nodes = {}
        for name in "abc":
            link = {"name": "lo", "bind": f"127.0.0.1:{ports[name]}",
                    "peers": [f"127.0.0.1:{ports[p]}" for p in peers[name]]}  # fmt: skip
            cfg = write_config(tmp_path, name, mission.bundles[name], [link])
            nodes[name] = fleet.add(Daemon(name, cfg, tmp_path / f"{name}.sock",
                                           tmp_path / f"{name}.log")).start()  # fmt: skip
        with nodes["a"].client() as app:
            app.subscribe(["delivery_ack"])
            sent: list[int] = []
            for trial in range(TRIALS):
                wait_for(lambda: route_to(nodes["a"], C) is not None, 30, "a route to c")
                victim = nodes["b" if trial % 2 == 0 else "c"]
                kill_after = rng.randrange(1, MESSAGES)
                for i in range(MESSAGES):
                    sent.append(app.send("text", f"0x{C:04x}", {"body": f"trial {trial} #{i}"}))
                    if i == kill_after:
                        time.sleep(rng.uniform(0.0, 0.05))
                        victim.kill()
                victim.start()
            # A relay back within a second is re-learned at once (SPEC.md §8.1.5); the
            # slack is for custody backoff on a loaded machine.
            delivered = _delivered(app, len(sent), timeout_s=120)
            if set(delivered) != set(sent):  # say where the missing ones are
                for d in nodes.values():
                    print(d.name, d.ask("status")["status"], d.ask("routes")["routes"])
    finally:
        fleet.close()
    counts = Counter(delivered)
    assert set(counts) == set(sent), f"never delivered: {sorted(set(sent) - set(counts))}"
    assert max(counts.values()) == 1, f"delivered twice: {[m for m, n in counts.items() if n > 1]}"


def _delivered(app: NodeClient, expected: int, timeout_s: float) -> list[int]:
    """Every "delivered" event until ``expected`` distinct ones and a quiet second after."""
    out: list[int] = []
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        event = app.next_event(1.0)
        if event is None:
            if len(set(out)) >= expected:
                return out  # quiet: no late duplicate is on its way
        elif event.get("event") == "delivered":
            out.append(int(event["msg_id"]))
    return out
