"""Traffic in and out of the real daemons, through their local API (node/api/PROTOCOL.md).

Rules kept here:
- Bodies are the API's JSON forms of what the simulator sends for each kind (position
  from the node's track at the emulated time, SOS with its position, orders from
  command), so the same scenario makes the same kinds of frames.
- Every node's API is subscribed from its own thread, which stamps each ``message`` event
  with the monotonic clock as it arrives and reconnects after a restart; receipts are
  only matched to sends at the end (``settle``), so a reply racing its send's
  bookkeeping is never lost.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tacmesh.node.api.client import ApiClientError, NodeClient
from tacmesh.protocol.addresses import format_address, parse_address
from tacmesh.sim.build import SimNode
from tacmesh.sim.emulate.layout import NodeLayout
from tacmesh.sim.geo import Plane
from tacmesh.sim.metrics import Ledger

T = TypeVar("T")

RECONNECT_S = 0.2
POLL_S = 0.2
TEXT = "Need water and a stretcher at sector C. "


@dataclass
class Bodies:
    """The API body of each traffic kind, numbered like the simulator's."""

    plane: Plane
    serial: int = 0

    def make(self, kind: str, node: SimNode, size: int) -> dict[str, Any]:
        self.serial += 1
        if kind == "position":
            return self._position(node)
        if kind == "status":
            return {"state": "ON_SCENE", "battery_pct": 80}
        if kind == "vitals":
            return {"heart_rate_bpm": 90, "spo2_pct": 97, "skin_temp_centi_c": 3500,
                    "respiration_rpm": 16}  # fmt: skip
        if kind == "sos":
            return {"sos_id": self.serial, "kind": "SOS_TRAPPED",
                    "position": self._position(node), "escalate_after_s": 60}  # fmt: skip
        if kind == "order":
            return {"order_id": self.serial, "kind": "ORDER_REPORT_IN",
                    "instruction": "Report in with status", "valid_for_s": 600}  # fmt: skip
        if kind == "bulk":
            data = base64.b64encode(bytes(size)).decode()
            return {"object_id": self.serial, "total_len": size, "media_type": "image/jpeg",
                    "data": data}  # fmt: skip
        return {"body": (TEXT * 8)[: size or 40]}

    def _position(self, node: SimNode) -> dict[str, Any]:
        x, y, z = node.position
        lat, lon = self.plane.to_latlon(x, y)
        return {"lat": lat, "lon": lon, "alt_m": round(z), "accuracy_m": 5}


@dataclass
class Receipts:
    """Every ``message`` event of every node: (monotonic time, node, source, msg_id)."""

    got: list[tuple[float, int, int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def listen(self, layouts: list[NodeLayout]) -> None:
        for layout in layouts:
            thread = threading.Thread(target=self._listen, args=(layout,), daemon=True,
                                      name=f"receipts-{layout.node.name}")  # fmt: skip
            thread.start()
            self.threads.append(thread)

    def _listen(self, layout: NodeLayout) -> None:
        while not self.stop.is_set():
            try:
                client = NodeClient(layout.socket, timeout_s=2)
                client.subscribe()
            except (ApiClientError, OSError):
                self.stop.wait(RECONNECT_S)  # starting, restarting, or stopped
                continue
            with client:
                self._read(client, layout.node.address)

    def _read(self, client: NodeClient, address: int) -> None:
        while not self.stop.is_set():
            try:
                event = client.next_event(POLL_S)
            except (ApiClientError, OSError):
                return  # the daemon died: reconnect when it is back
            if event is not None and event.get("event") == "message":
                source = parse_address(str(event["from"]))
                with self.lock:
                    self.got.append((time.monotonic(), address, source, int(event["msg_id"])))

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(2 * POLL_S + 2)

    def settle(self, ledger: Ledger, t0: float) -> None:
        """Credit every receipt to the ledger (``t0``: monotonic time of emulated 0)."""
        with self.lock:
            for at, node, source, msg_id in sorted(self.got):
                ledger.delivered(at - t0, node, source, msg_id)


class Connections:
    """One API connection per node, opened on first use and dropped when the node stops
    answering, so that a restarted daemon gets a fresh one."""

    def __init__(self, layouts: dict[str, NodeLayout], timeout_s: float) -> None:
        self.layouts = layouts
        self.timeout_s = timeout_s
        self.clients: dict[str, NodeClient] = {}

    def use(self, node: SimNode, call: Callable[[NodeClient], T]) -> T | None:
        """``call``'s result, or None if the node could not be asked (down, restarting)."""
        try:
            client = self.clients.get(node.name)
            if client is None:
                client = NodeClient(self.layouts[node.name].socket, timeout_s=self.timeout_s)
                self.clients[node.name] = client
            return call(client)
        except (ApiClientError, OSError):
            self.drop(node.name)
            return None

    def drop(self, name: str) -> None:
        client = self.clients.pop(name, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        for name in list(self.clients):
            self.drop(name)


class Senders(Connections):
    """Sends each node's traffic through its own API connection."""

    def __init__(self, layouts: dict[str, NodeLayout]) -> None:
        super().__init__(layouts, timeout_s=2)
        self.failed = 0

    def send(self, node: SimNode, kind: str, to: int, body: dict[str, Any]) -> int | None:
        """The msg_id, or None if the node did not take it (down, restarting, refused)."""
        msg_id = self.use(node, lambda c: c.send(kind, format_address(to), body))
        if msg_id is None:
            self.failed += 1
        return msg_id

    def depart(self, node: SimNode, in_s: float) -> bool:
        """Tell the node it leaves in ``in_s`` seconds, as its UAV bridge would."""
        try:
            with NodeClient(self.layouts[node.name].socket, timeout_s=2) as client:
                client.request("depart", in_s=in_s)
            return True
        except (ApiClientError, OSError):
            return False
