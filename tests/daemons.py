"""Real node daemons for tests: a mission with key bundles, configs, and daemon processes.

Daemons run as `python -m tacmesh.node.cli node run` processes on loopback ports (or in
network namespaces, given a command prefix), each with its own SQLite store and API
socket; tests talk to them through the real API client. Every process is ended by its
PID when the test ends, even when it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tacmesh.node.api.client import ApiClientError, NodeClient
from tacmesh.node.keys import create_mission, issue_node, refresh_bundle
from tacmesh.protocol.addresses import Role
from tacmesh.sim.scenario.render import string


def free_udp_ports(count: int) -> list[int]:
    """Ports free right now on 127.0.0.1 (held open together so they differ)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Mission:
    root: Path
    bundles: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, nodes: dict[str, tuple[int, Role]]) -> Mission:
        now = time.time()
        mission = cls(root)
        create_mission(root / "mission", "test mission", now)
        for name, (address, role) in nodes.items():
            out = root / "bundles" / name
            issue_node(root / "mission", address=address, role=role, callsign=name.upper(),
                       team=None, days=2, out=out, now=now)  # fmt: skip
            mission.bundles[name] = out
        for out in mission.bundles.values():  # every node holds every certificate
            refresh_bundle(root / "mission", out)
        return mission


def write_config(root: Path, name: str, bundle: Path, links: list[dict[str, Any]],
                 extra: str = "") -> Path:  # fmt: skip
    """A node.toml with one [[interface]] per ``links`` entry (keys as in node.toml)."""
    lines = ["[node]", f'keys = "{bundle}"', f'state = "{root / name}.db"', "",
             "[api]", f'socket = "{root / name}.sock"', ""]  # fmt: skip
    for link in links:
        lines.append("[[interface]]")
        for key, value in link.items():
            lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    path = root / f"{name}.toml"
    path.write_text("\n".join(lines) + extra)
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


@dataclass
class Daemon:
    """One `tacmesh node run` process."""

    name: str
    config: Path
    socket: Path
    log: Path
    prefix: list[str] = field(default_factory=list)
    """Command prefix, e.g. `ip netns exec NS`."""
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> Daemon:
        if self.socket.exists():
            self.socket.unlink()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "tacmesh.node.cli", "node", "run",
                 "--config", str(self.config), "--log-level", "info"],
                stdout=log, stderr=log,
            )  # fmt: skip
        wait_for(self._answers, timeout_s, f"{self.name} to start ({self.log})")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
        try:
            with NodeClient(self.socket, timeout_s=2):
                return True
        except ApiClientError:
            return False

    def client(self) -> NodeClient:
        return NodeClient(self.socket, timeout_s=10)

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        with self.client() as c:
            return c.request(op, **fields)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """Power loss: SIGKILL, no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 10.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.05) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():
            return
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def route_to(daemon: Daemon, address: int) -> str | None:
    """The `via` of the route covering ``address`` in the node's table, if any."""
    for row in daemon.ask("routes")["routes"]:
        base, _, length = row["prefix"].partition("/")
        if base.startswith("0x") and _covers(int(base, 16), int(length or 16), address):
            return str(row["via"])
    return None


def _covers(base: int, length: int, address: int) -> bool:
    shift = 16 - length
    return base >> shift == address >> shift


@dataclass
class Fleet:
    daemons: list[Daemon] = field(default_factory=list)

    def add(self, daemon: Daemon) -> Daemon:
        self.daemons.append(daemon)
        return daemon

    def close(self) -> None:
        for d in self.daemons:
            d.kill()


def fleet() -> Iterator[Fleet]:
    f = Fleet()
    try:
        yield f
    finally:
        f.close()
