"""One node's protocol engine (SPEC.md §4-§9), in the aioquic manner.

Inputs, each with the caller's ``now``: :meth:`NodeEngine.receive` (a frame from an
interface), :meth:`NodeEngine.link_down`, :meth:`NodeEngine.send` (a local application's
message), :meth:`NodeEngine.announce_departure` and :meth:`NodeEngine.handle_timer`.
Outputs: :meth:`NodeEngine.pop_transmits`, :meth:`NodeEngine.pop_deliveries` and
:meth:`NodeEngine.next_deadline`.

This file decides what happens to each frame; the control plane (hellos, routes) is in
``control.py``, the transmit queues in ``scheduler.py``, frame building in ``outbound.py``.
"""

from __future__ import annotations

from collections import Counter

from tacmesh.protocol.addresses import ALL_HANDS, is_unicast
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.config import Jitter, NodeConfig
from tacmesh.protocol.engine.control import ControlPlane, Outgoing
from tacmesh.protocol.engine.dedup import SeenMessages
from tacmesh.protocol.engine.events import Delivery, Transmit
from tacmesh.protocol.engine.lifetimes import DEFAULT_LIFETIME_S
from tacmesh.protocol.engine.outbound import OwnMessage, control_builder, relay_builder
from tacmesh.protocol.engine.reassembly import Reassembly
from tacmesh.protocol.engine.scheduler import LATEST_VALUE_WINS, Build, InterfaceQueue, Queued
from tacmesh.protocol.errors import FrameError
from tacmesh.protocol.fragment import FRAGMENT_BYTE0, decode_fragment, split
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import BASE_HEADER_LEN, MAX_COUNTER, Header
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import control_pb2
from tacmesh.protocol.priority import Priority

_CONTROL_HANDLERS = {FrameType.HELLO, FrameType.ROUTE_UPDATE, FrameType.ROUTE_REQUEST}
CONTROL_LIFETIME_S = 10.0
"""A control message not sent within this long is stale: newer state will follow."""


class NodeEngine:
    def __init__(
        self, config: NodeConfig, codec: WireCodec, rng: Jitter, now: float, counter: int = 0
    ) -> None:
        if codec.address != config.address:
            raise ValueError("the codec and the configuration name different addresses")
        self.config = config
        self.codec = codec
        self.counter = counter
        """The next frame counter; the driver persists it (SPEC.md §7.4.1)."""
        self.control = ControlPlane(config, rng, now)
        self.queues = {i.name: InterfaceQueue(i) for i in config.interfaces}
        self.seen = SeenMessages()
        self.reassembly = Reassembly()
        self._datagram_tags = dict.fromkeys(self.queues, 0)
        self.counters: Counter[str] = Counter()
        self._pending: list[OwnMessage] = []
        self._transmits: list[Transmit] = []
        self._deliveries: list[Delivery] = []

    # -- inputs ------------------------------------------------------------------------

    def receive(self, now: float, interface: str, data: bytes) -> None:
        iface = self.config.interface(interface)
        try:
            if data and data[0] == FRAGMENT_BYTE0:
                whole = self.reassembly.add(now, interface, decode_fragment(data))
                if whole is None:
                    return
                data = whole
            frame = self.codec.open(data, tag_len=iface.tag_len)
        except FrameError:
            self.counters["rejected"] += 1
            return
        h = frame.header
        if h.next_hop not in (self.config.address, ALL_HANDS):
            self.counters["overheard"] += 1
        elif h.type in _CONTROL_HANDLERS:
            self._control(now, interface, frame)
        elif h.type.is_data:
            self._data(now, interface, frame)
        self._step(now)

    def link_down(self, now: float, interface: str, neighbour: int | None = None) -> None:
        """The radio or OS says a link is gone: act at once, do not wait for hellos."""
        self.control.link_down(interface, neighbour)
        self._step(now)

    def send(
        self,
        now: float,
        destination: int,
        ftype: FrameType,
        body: Body,
        *,
        priority: Priority | None = None,
        lifetime_s: int | None = None,
    ) -> int:
        """Originate a message; return its msg_id."""
        msg_id = self._next_counter()
        header = Header(
            type=ftype,
            priority=DEFAULT_PRIORITY[ftype] if priority is None else priority,
            hop_limit=self.config.hop_limit,
            key_phase=0,
            transmitter=self.config.address,
            counter=msg_id,
            destination=destination,
            lifetime_s=lifetime_s,
        )
        lifetime = _lifetime(header)
        self.seen.check_and_add((self.config.address, msg_id), now, lifetime)
        own = OwnMessage(header, body, now, now + lifetime)
        if is_unicast(destination):
            self._route_or_hold(now, own)
        else:
            for iface in self.config.interfaces:
                self._queue_own(now, own, iface.name, ALL_HANDS)
        self._step(now)
        return msg_id

    def announce_departure(self, now: float, in_s: float) -> None:
        """This node will leave (a UAV returning, a battery running out) in ``in_s`` seconds;
        neighbours move their routes away while it still forwards (make-before-break)."""
        self.control.depart(now, in_s)
        self._step(now)

    def handle_timer(self, now: float) -> None:
        self.control.tick(now)
        self._pending = [p for p in self._pending if p.expires_at > now]
        self._step(now)

    # -- outputs -----------------------------------------------------------------------

    def next_deadline(self) -> float:
        times = [self.control.next_deadline(), *(p.expires_at for p in self._pending)]
        reassembly = self.reassembly.next_expiry()
        if reassembly is not None:
            times.append(reassembly)
        for q in self.queues.values():
            ready, expiry = q.ready_at(), q.next_expiry()
            times += [t for t in (ready, expiry) if t is not None]
        return min(times)

    def pop_transmits(self) -> list[Transmit]:
        out, self._transmits = self._transmits, []
        return out

    def pop_deliveries(self) -> list[Delivery]:
        out, self._deliveries = self._deliveries, []
        return out

    def shed(self) -> Counter[str]:
        """What the queues dropped, and why (full, superseded report, expired)."""
        total: Counter[str] = Counter()
        for q in self.queues.values():
            total.update(q.shed)
        return total

    # -- one processing step -----------------------------------------------------------

    def _step(self, now: float) -> None:
        """Queue what the control plane wants sent, retry held messages, then let every
        interface send what it may."""
        for out in self.control.take():
            self._queue_control(now, out)
        if self._pending:
            waiting, self._pending = self._pending, []
            for p in waiting:
                self._route_or_hold(now, p)
        self.reassembly.expire(now)
        for name, q in self.queues.items():
            q.expire(now)
            while (item := q.pop(now)) is not None:
                data = item.build(self._next_counter, now)
                if len(data) > q.iface.mtu:
                    self._fragment(now, name, item, data)
                    continue
                q.sent(now, len(data))
                self._transmits.append(Transmit(name, item.next_hop, data, item.priority))

    def _fragment(self, now: float, name: str, item: Queued, data: bytes) -> None:
        """Split a frame too large for the interface; its pieces queue like frames."""
        tag = self._datagram_tags[name]
        self._datagram_tags[name] = (tag + 1) % 256
        pieces = split(data, self.queues[name].iface.mtu, priority=item.priority,
                       transmitter=self.config.address, datagram_tag=tag)  # fmt: skip
        for piece in pieces:
            self.queues[name].push(
                Queued(item.priority, item.origin, item.next_hop, _prebuilt(piece), now,
                       item.expires_at, len(piece))
            )  # fmt: skip
        self.counters["fragmented"] += 1

    # -- control -----------------------------------------------------------------------

    def _control(self, now: float, interface: str, frame: Frame) -> None:
        try:
            body = self.codec.deliver(frame, now=now).body
        except FrameError:
            self.counters["rejected"] += 1
            return
        sender = frame.header.transmitter
        if isinstance(body, control_pb2.Hello):
            self.control.on_hello(now, interface, sender, body)
        elif isinstance(body, control_pb2.RouteUpdate):
            self.control.on_update(now, interface, sender, body)
        elif isinstance(body, control_pb2.RouteRequest):
            self.control.on_request(body)

    def _queue_control(self, now: float, out: Outgoing) -> None:
        iface = self.config.interface(out.interface)
        header = Header(
            type=out.type,
            priority=Priority.CONTROL,
            hop_limit=0,
            key_phase=0,
            transmitter=self.config.address,
            counter=0,
            destination=out.next_hop,
            next_hop=out.next_hop,
        )
        size = BASE_HEADER_LEN + out.body.ByteSize() + iface.tag_len
        build = control_builder(self.codec, iface, header, out.body)
        self.queues[out.interface].push(
            Queued(Priority.CONTROL, self.config.address, out.next_hop, build, now,
                   now + CONTROL_LIFETIME_S, size)
        )  # fmt: skip
        self.counters[f"sent_{out.type.name.lower()}"] += 1

    # -- data --------------------------------------------------------------------------

    def _data(self, now: float, interface: str, frame: Frame) -> None:
        h = frame.header
        if not self.seen.check_and_add((h.source, h.message_id), now, _lifetime(h)):
            self.counters["duplicates"] += 1
            return
        local = h.destination == self.config.address
        if local or h.destination == ALL_HANDS or h.destination in self.config.groups:
            self._deliver(now, interface, frame)
        if local:
            return
        if h.hop_limit == 0:
            self.counters["hop_limit_reached"] += 1
        elif is_unicast(h.destination):
            self._forward_unicast(now, frame)
        else:
            for iface in self.config.interfaces:
                self._queue_relay(now, frame, iface.name, ALL_HANDS)

    def _deliver(self, now: float, interface: str, frame: Frame) -> None:
        try:
            message = self.codec.deliver(frame, now=now)
        except FrameError:
            self.counters["rejected"] += 1
            return
        self._deliveries.append(Delivery(message, interface))
        self.counters["delivered"] += 1

    def _forward_unicast(self, now: float, frame: Frame) -> None:
        route = self.control.routing.lookup(frame.header.destination)
        if route is None or route.via is None:
            self.counters["no_route"] += 1
            return
        self._queue_relay(now, frame, *route.via)

    def _queue_relay(self, now: float, frame: Frame, iface_name: str, next_hop: int) -> None:
        h = frame.header
        iface = self.config.interface(iface_name)
        remaining = _lifetime(h) - (h.age_s or 0)
        build = relay_builder(self.codec, iface, frame, next_hop, now)
        size = BASE_HEADER_LEN + 8 + len(frame.payload) + iface.tag_len
        self.queues[iface_name].push(
            Queued(h.priority, h.source, next_hop, build, now, now + remaining, size,
                   _freshness(h))
        )  # fmt: skip
        self.counters["forwarded"] += 1

    def _route_or_hold(self, now: float, own: OwnMessage) -> None:
        route = self.control.routing.lookup(own.header.destination)
        if route is None or route.via is None:
            if len(self._pending) < self.config.pending_limit:
                self._pending.append(own)
            else:
                self.counters["shed_pending_full"] += 1
            return
        self._queue_own(now, own, *route.via)

    def _queue_own(self, now: float, own: OwnMessage, iface_name: str, next_hop: int) -> None:
        iface = self.config.interface(iface_name)
        build = own.builder(self.codec, iface, next_hop, lambda: self.counter)
        self.queues[iface_name].push(
            Queued(own.header.priority, self.config.address, next_hop, build, now,
                   own.expires_at, own.size(iface), _freshness(own.header))
        )  # fmt: skip
        self.counters["originated"] += 1

    # -- helpers -----------------------------------------------------------------------

    def _next_counter(self) -> int:
        if self.counter > MAX_COUNTER:
            raise RuntimeError("frame counter exhausted: a key update must start a new epoch")
        value = self.counter
        self.counter += 1
        return value


def _prebuilt(data: bytes) -> Build:
    def build(take: object, now: float) -> bytes:
        return data

    return build


def _lifetime(h: Header) -> int:
    return h.lifetime_s if h.lifetime_s is not None else DEFAULT_LIFETIME_S[h.priority]


def _freshness(h: Header) -> tuple[int, FrameType, int] | None:
    return (h.source, h.type, h.message_id) if h.type in LATEST_VALUE_WINS else None
