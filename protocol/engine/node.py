"""One node's protocol engine (SPEC.md §4-§9), in the aioquic manner.

Inputs, each with the caller's ``now``: :meth:`NodeEngine.receive` (a frame from an
interface), :meth:`NodeEngine.link_down`, :meth:`NodeEngine.send` (a local application's
message) and :meth:`NodeEngine.handle_timer`. Outputs: :meth:`NodeEngine.pop_transmits`,
:meth:`NodeEngine.pop_deliveries` and :meth:`NodeEngine.next_deadline`.

This file knows frames and forwarding; the control plane (hellos, routes) is in
``control.py`` and knows nothing of bytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from tacmesh.protocol.addresses import ALL_HANDS, is_unicast
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.config import Jitter, NodeConfig
from tacmesh.protocol.engine.control import ControlPlane, Outgoing
from tacmesh.protocol.engine.dedup import SeenMessages
from tacmesh.protocol.engine.events import Delivery, Transmit
from tacmesh.protocol.engine.lifetimes import DEFAULT_LIFETIME_S
from tacmesh.protocol.errors import FrameError
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import MAX_COUNTER, Header
from tacmesh.protocol.messages import Body
from tacmesh.protocol.pb import control_pb2
from tacmesh.protocol.priority import Priority

_CONTROL_HANDLERS = {FrameType.HELLO, FrameType.ROUTE_UPDATE, FrameType.ROUTE_REQUEST}


@dataclass(slots=True)
class _Pending:
    """A message of ours waiting for a route."""

    header: Header
    """Origin and msg_id unset; the counter is the msg_id."""
    body: Body
    created_at: float
    expires_at: float


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
        self.seen = SeenMessages()
        self.counters: Counter[str] = Counter()
        self._pending: list[_Pending] = []
        self._transmits: list[Transmit] = []
        self._deliveries: list[Delivery] = []

    # -- inputs ------------------------------------------------------------------------

    def receive(self, now: float, interface: str, data: bytes) -> None:
        iface = self.config.interface(interface)
        try:
            frame = self.codec.open(data, tag_len=iface.tag_len, max_len=max(iface.mtu, len(data)))
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
        self._flush(now)

    def link_down(self, now: float, interface: str, neighbour: int | None = None) -> None:
        """The radio or OS says a link is gone: act at once, do not wait for hellos."""
        self.control.link_down(interface, neighbour)
        self._flush(now)

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
        lifetime = self._lifetime(header)
        self.seen.check_and_add((self.config.address, msg_id), now, lifetime)
        if is_unicast(destination):
            self._route_or_hold(now, _Pending(header, body, now, now + lifetime))
        else:
            self._flood_own(header, body)
        self._flush(now)
        return msg_id

    def announce_departure(self, now: float, in_s: float) -> None:
        """This node will leave (a UAV returning, a battery running out) in ``in_s`` seconds;
        neighbours move their routes away while it still forwards (make-before-break)."""
        self.control.depart(now, in_s)
        self._flush(now)

    def handle_timer(self, now: float) -> None:
        self.control.tick(now)
        self._pending = [p for p in self._pending if p.expires_at > now]
        self._flush(now)

    # -- outputs -----------------------------------------------------------------------

    def next_deadline(self) -> float:
        deadline = self.control.next_deadline()
        if self._pending:
            deadline = min(deadline, *(p.expires_at for p in self._pending))
        return deadline

    def pop_transmits(self) -> list[Transmit]:
        out, self._transmits = self._transmits, []
        return out

    def pop_deliveries(self) -> list[Delivery]:
        out, self._deliveries = self._deliveries, []
        return out

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

    def _flush(self, now: float) -> None:
        """Send what the control plane wants sent, then any held message that now has a route."""
        for out in self.control.take():
            self._emit_control(out)
        if self._pending:
            waiting, self._pending = self._pending, []
            for p in waiting:
                self._route_or_hold(now, p)

    def _emit_control(self, out: Outgoing) -> None:
        iface = self.config.interface(out.interface)
        header = Header(
            type=out.type,
            priority=Priority.CONTROL,
            hop_limit=0,
            key_phase=0,
            transmitter=self.config.address,
            counter=self._next_counter(),
            destination=out.next_hop,
            next_hop=out.next_hop,
        )
        data = self.codec.encode(header, out.body, tag_len=iface.tag_len)
        self._transmits.append(Transmit(out.interface, out.next_hop, data, Priority.CONTROL))
        self.counters[f"sent_{out.type.name.lower()}"] += 1
        self.counters["control_bytes"] += len(data)

    # -- data --------------------------------------------------------------------------

    def _data(self, now: float, interface: str, frame: Frame) -> None:
        h = frame.header
        if not self.seen.check_and_add((h.source, h.message_id), now, self._lifetime(h)):
            self.counters["duplicates"] += 1
            return
        local = h.destination == self.config.address
        member = h.destination == ALL_HANDS or h.destination in self.config.groups
        if local or member:
            self._deliver(now, interface, frame)
        if local:
            return
        if h.hop_limit == 0:
            self.counters["hop_limit_reached"] += 1
        elif is_unicast(h.destination):
            self._forward_unicast(frame)
        else:
            self._flood(frame, exclude=None)

    def _deliver(self, now: float, interface: str, frame: Frame) -> None:
        try:
            message = self.codec.deliver(frame, now=now)
        except FrameError:
            self.counters["rejected"] += 1
            return
        self._deliveries.append(Delivery(message, interface))
        self.counters["delivered"] += 1

    def _forward_unicast(self, frame: Frame) -> None:
        route = self.control.routing.lookup(frame.header.destination)
        if route is None or route.via is None:
            self.counters["no_route"] += 1
            return
        iface_name, next_hop = route.via
        iface = self.config.interface(iface_name)
        data = self.codec.forward(
            frame, counter=self._next_counter(), next_hop=next_hop, tag_len=iface.tag_len
        )
        self._transmits.append(Transmit(iface_name, next_hop, data, frame.header.priority))
        self.counters["forwarded"] += 1

    def _flood(self, frame: Frame, exclude: str | None) -> None:
        for iface in self.config.interfaces:
            if iface.name == exclude:
                continue
            data = self.codec.forward(
                frame, counter=self._next_counter(), next_hop=ALL_HANDS, tag_len=iface.tag_len
            )
            self._transmits.append(Transmit(iface.name, ALL_HANDS, data, frame.header.priority))
        self.counters["flooded"] += 1

    def _flood_own(self, header: Header, body: Body) -> None:
        for i, iface in enumerate(self.config.interfaces):
            h = replace(header, next_hop=ALL_HANDS)
            if i:  # one counter per transmission: later copies name the message explicitly
                h = _explicit(h, self._next_counter())
            data = self.codec.encode(h, body, tag_len=iface.tag_len)
            self._transmits.append(Transmit(iface.name, ALL_HANDS, data, h.priority))
        self.counters["originated"] += 1

    def _route_or_hold(self, now: float, p: _Pending) -> None:
        route = self.control.routing.lookup(p.header.destination)
        if route is None or route.via is None:
            if len(self._pending) < self.config.pending_limit:
                self._pending.append(p)
            else:
                self.counters["shed_pending_full"] += 1
            return
        iface_name, next_hop = route.via
        iface = self.config.interface(iface_name)
        h = replace(p.header, next_hop=next_hop)
        if now > p.created_at:  # held: a new counter, the message named explicitly
            h = replace(_explicit(h, self._next_counter()), age_s=int(now - p.created_at) or None)
        data = self.codec.encode(h, p.body, tag_len=iface.tag_len)
        self._transmits.append(Transmit(iface_name, next_hop, data, h.priority))
        self.counters["originated"] += 1

    # -- helpers -----------------------------------------------------------------------

    def _next_counter(self) -> int:
        if self.counter > MAX_COUNTER:
            raise RuntimeError("frame counter exhausted: a key update must start a new epoch")
        value = self.counter
        self.counter += 1
        return value

    @staticmethod
    def _lifetime(h: Header) -> int:
        return h.lifetime_s if h.lifetime_s is not None else DEFAULT_LIFETIME_S[h.priority]


def _explicit(h: Header, counter: int) -> Header:
    """``h`` sent with a new counter: origin and msg_id must now travel in the header."""
    return replace(h, counter=counter, origin=h.source, msg_id=h.message_id)
