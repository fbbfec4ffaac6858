"""The ground node daemon's core: one engine driven by real sockets and the real clock.

Rules this file keeps:
- Inputs (frames from links, timer expiries, application requests) go to the engine at
  once; its outputs are handled in one place, :meth:`NodeDaemon.flush`, in this order:
  reserve frame counters, record moved replay windows and delivery tombstones, **commit
  the store**, and only then send frames and tell applications. So a custody
  acknowledgement or an "accepted" reply never leaves before what it promises is on disk
  (SPEC.md §9.3), and a counter is never used on the air before its block is reserved
  (SPEC.md §7.4.1).
- Under load a link hands over every datagram waiting at once, and one flush (one commit,
  one timer re-arm) serves them all: durability costs a commit per batch, not per frame.
- ``now`` is Unix time (certificates and stored lifetimes are in Unix seconds and must
  survive a reboot); the timer is armed on the event loop's monotonic clock from the
  remaining delay.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tacmesh.node.config import NodeSettings
from tacmesh.node.keys import NodeKeys
from tacmesh.node.links.base import Link
from tacmesh.node.links.udp import UdpLink
from tacmesh.node.store import NodeStore
from tacmesh.protocol.addresses import role_group, team_group
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.replay import ReplayGuard
from tacmesh.protocol.engine.config import NodeConfig
from tacmesh.protocol.engine.events import Delivery
from tacmesh.protocol.engine.lifetimes import DEFAULT_LIFETIME_S
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.fragment import FRAGMENT_BYTE0
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority

log = logging.getLogger(__name__)

MIN_TIMER_S = 0.0005
"""Never re-arm sooner than this: a deadline already past must not spin the loop."""
PRUNE_EVERY_S = 60.0
"""Expired delivery tombstones leave the store this often."""
ACK_TYPES = frozenset({FrameType.TEXT})
"""Unicast messages a destination answers with DELIVERY_ACK (SPEC.md §9.7): text, where a
person waits for a receipt; orders, SOS and others have their own acknowledgements."""

Listener = Callable[["Event"], None]


@dataclass(frozen=True, slots=True)
class Event:
    """What the daemon tells applications: a message arrived, or one of ours was delivered."""

    kind: str
    """"message" or "delivered"."""
    delivery: Delivery | None = None
    msg_id: int | None = None
    by: int | None = None


class NodeDaemon:
    def __init__(
        self,
        settings: NodeSettings,
        keys: NodeKeys,
        store: NodeStore,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.settings, self.keys, self.store, self.clock = settings, keys, store, clock
        now = clock()
        self.started_at = now
        store.bind(keys.address)
        guard = ReplayGuard()
        guard.restore(store.load_windows())
        codec = WireCodec(keys.address, keys.identity, keys.trust(now), keys.keyring, guard)
        self.engine = NodeEngine(
            _engine_config(settings, keys),
            codec,
            rng if rng is not None else random.SystemRandom(),
            now,
            counter=store.resume_counter(),
            store=store,
        )
        for key, until in store.tombstones(now):
            self.engine.seen.check_and_add(key, now, until - now)
        self.links: dict[str, Link] = {}
        self.udp: dict[str, UdpLink] = {}
        """The UDP links among them, which the service opens as their devices come up."""
        for s in settings.links:
            self.links[s.name] = self.udp[s.name] = UdpLink(s, self._on_frames)
        self.listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")
        self.flushes = 0
        self._next_prune = now + PRUNE_EVERY_S

    @property
    def address(self) -> int:
        return self.keys.address

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.flush(self.clock())

    # -- inputs ------------------------------------------------------------------------

    def _on_frames(self, link: Link, batch: list[tuple[bytes, Any]]) -> None:
        now = self.clock()
        opened = self.engine.receive_many(now, link.name, [data for data, _ in batch])
        for (data, addr), verified in zip(batch, opened, strict=True):
            # Learn where a neighbour is only from frames that verified: a forged frame
            # must not redirect our unicast traffic.
            if verified and data[0] != FRAGMENT_BYTE0:
                link.learn(data[2] << 8 | data[3], addr)
        self.flush(now)

    def _on_timer(self) -> None:
        self._timer, self._armed_for = None, float("inf")
        now = self.clock()
        self.engine.handle_timer(now)
        self.flush(now)

    def link_down(self, name: str) -> None:
        """The OS says the link is gone: routes through it move now, not after hellos."""
        now = self.clock()
        self.engine.link_down(now, name)
        self.flush(now)

    def depart(self, in_s: float) -> None:
        """This node will leave in ``in_s`` seconds (a UAV returning, a battery running
        out): neighbours move their routes away while it still forwards (SPEC.md §8.3)."""
        now = self.clock()
        self.engine.announce_departure(now, in_s)
        self.flush(now)

    def send(
        self,
        destination: int,
        ftype: FrameType,
        body: Body,
        *,
        priority: Priority | None = None,
        lifetime_s: int | None = None,
    ) -> int:
        """Originate a message; when this returns it is committed to the store."""
        now = self.clock()
        msg_id = self.engine.send(
            now, destination, ftype, body, priority=priority, lifetime_s=lifetime_s
        )
        self.flush(now)
        return msg_id

    # -- outputs -----------------------------------------------------------------------

    def flush(self, now: float) -> None:
        """Persist, then act: see the module's rules."""
        engine, store = self.engine, self.store
        store.reserve_counter(engine.counter)
        moved = engine.codec.guard.take_changed()
        if moved:
            store.save_windows(moved)
        if now >= self._next_prune:
            store.prune_tombstones(now)
            self._next_prune = now + PRUNE_EVERY_S
        deliveries = engine.pop_deliveries()
        acks = self._tombstones_and_acks(now, deliveries)
        if acks:
            self._send_delivery_acks(now, acks)
            deliveries += engine.pop_deliveries()
            store.reserve_counter(engine.counter)
        store.commit()
        self.flushes += 1
        for t in engine.pop_transmits():
            self.links[t.interface].send(t.next_hop, t.data)
        for d in deliveries:
            self._tell(d)
        self._arm(now, engine.next_deadline())

    def _tombstones_and_acks(self, now: float, deliveries: list[Delivery]) -> dict[int, list[int]]:
        """Remember what was delivered here across restarts; gather receipts to send."""
        acks: dict[int, list[int]] = {}
        for d in deliveries:
            h = d.message.header
            if h.destination != self.address or h.source == self.address:
                continue
            lifetime = h.lifetime_s or DEFAULT_LIFETIME_S[h.priority]
            self.store.tombstone((h.source, h.message_id), now + lifetime - (h.age_s or 0))
            if h.type in ACK_TYPES:
                acks.setdefault(h.source, []).append(h.message_id)
        return acks

    def _send_delivery_acks(self, now: float, acks: dict[int, list[int]]) -> None:
        for origin, ids in acks.items():
            refs = [messages_pb2.MessageRef(origin=origin, msg_id=i) for i in ids]
            self.engine.send(
                now, origin, FrameType.DELIVERY_ACK, messages_pb2.DeliveryAck(refs=refs)
            )

    def _tell(self, d: Delivery) -> None:
        events = [Event("message", delivery=d)]
        body = d.message.body
        if isinstance(body, messages_pb2.DeliveryAck):
            by = d.message.header.source
            events += [
                Event("delivered", msg_id=r.msg_id, by=by)
                for r in body.refs
                if r.origin == self.address
            ]
        for listener in list(self.listeners):
            for event in events:
                try:
                    listener(event)
                except Exception:  # one broken client must not stop the node
                    log.exception("listener failed; removed")
                    self.listeners.remove(listener)
                    break

    def _arm(self, now: float, deadline: float) -> None:
        if self._loop is None or deadline == self._armed_for:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_for = deadline
        if deadline != float("inf"):
            delay = max(MIN_TIMER_S, deadline - now)
            self._timer = self._loop.call_later(delay, self._on_timer)

    def close(self) -> None:
        """Stop timers and links; persist every replay window and commit."""
        if self._timer is not None:
            self._timer.cancel()
        for link in self.links.values():
            link.close()
        self.store.save_windows(self.engine.codec.guard.snapshot())
        self.store.reserve_counter(self.engine.counter)
        self.store.close()


def _engine_config(settings: NodeSettings, keys: NodeKeys) -> NodeConfig:
    groups = set(settings.groups) | {role_group(keys.role)}
    if keys.team is not None:
        groups.add(team_group(keys.team))
    return NodeConfig(
        address=keys.address,
        interfaces=tuple(link.engine for link in settings.links),
        prefixes=settings.prefixes,
        hop_limit=settings.hop_limit,
        store_capacity=settings.store_capacity,
        groups=frozenset(groups),
    )
