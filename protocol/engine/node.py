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

import enum
from collections import Counter
from collections.abc import Callable, Iterable

from tacmesh.protocol.addresses import ALL_HANDS, TEAM_BASE, TEAM_LAST, Prefix, is_unicast
from tacmesh.protocol.codec import Received, WireCodec
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.config import InterfaceConfig, Jitter, NodeConfig
from tacmesh.protocol.engine.control import ControlPlane, Outgoing
from tacmesh.protocol.engine.custody import CustodyStore, Held, MessageStore, State
from tacmesh.protocol.engine.dedup import SeenMessages
from tacmesh.protocol.engine.echo import EchoWatch, MessageKey, Resend, answer_wait_s
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
from tacmesh.protocol.pb import control_pb2, messages_pb2
from tacmesh.protocol.priority import Priority

LOCAL = "local"
"""The interface name of a delivery that never left this node."""
_CONTROL_HANDLERS = {
    FrameType.HELLO,
    FrameType.ROUTE_UPDATE,
    FrameType.ROUTE_REQUEST,
    FrameType.CUSTODY_ACK,
}
NO_CUSTODY = {Priority.CONTROL, Priority.POSITION}
"""Classes sent without custody: a lost position is replaced by the next, fresher one."""
CONTROL_LIFETIME_S = 10.0
_SENT = {t: f"sent_{t.name.lower()}" for t in FrameType}
"""The counter of each type's sends (a control frame leaves every few milliseconds)."""
"""A control message not sent within this long is stale: newer state will follow."""


class _Outcome(enum.Enum):
    """What one received frame did to the engine."""

    DROPPED = enum.auto()
    """Not verified (overheard unopened, forged, replayed, malformed)."""
    ABSORBED = enum.auto()
    """Verified; nothing to send or deliver, no deadline earlier than before."""
    STIRRED = enum.auto()
    """The engine must step: something may leave, be delivered, or fall due sooner."""
    HELD = enum.auto()
    """A fragment kept for reassembly: not verified yet, but its expiry is a deadline."""


_STIRRED, _HELD, _ABSORBED = _Outcome.STIRRED, _Outcome.HELD, _Outcome.ABSORBED
# Compared by identity, not looked up in sets: a plain Enum hashes in Python, per frame.


class NodeEngine:
    def __init__(
        self,
        config: NodeConfig,
        codec: WireCodec,
        rng: Jitter,
        now: float,
        counter: int = 0,
        *,
        store: MessageStore | None = None,
    ) -> None:
        if codec.address != config.address:
            raise ValueError("the codec and the configuration name different addresses")
        self.config = config
        self.codec = codec
        self.counter = counter
        """The next frame counter; the driver persists it (SPEC.md §7.4.1)."""
        self.control = ControlPlane(config, rng, now)
        self.queues = {i.name: InterfaceQueue(i, rng=rng) for i in config.interfaces}
        self._ifaces = {i.name: i for i in config.interfaces}
        self.seen = SeenMessages()
        self.echoes = EchoWatch()
        """Urgent floods this node brought onto a narrowband channel, until they come back."""
        self.reassembly = Reassembly()
        self._datagram_tags = dict.fromkeys(self.queues, 0)
        self.counters: Counter[str] = Counter()
        self.custody = CustodyStore(store, config.store_capacity)
        self._acks: dict[tuple[str, int], list[messages_pb2.MessageRef]] = {}
        self._ack_results: dict[tuple[str, int, int, int], control_pb2.CustodyResult.ValueType] = {}
        self._now = now
        self._transmits: list[Transmit] = []
        self._deliveries: list[Delivery] = []

    # -- inputs ------------------------------------------------------------------------

    def receive(self, now: float, interface: str, data: bytes) -> bool:
        """Handle one frame. Returns whether the driver must collect outputs and re-arm its
        timer: False when the frame was dropped, or was absorbed without leaving anything
        to send or deliver or any deadline earlier than the one already armed (a hello of
        a known neighbour whose cost held, a periodic update repeating what we hold). On a
        shared channel these are most frames, and skipping the step for them is free."""
        outcome = self._receive(now, self._iface(interface), data)
        if outcome is _STIRRED or outcome is _HELD:
            self._step(now)
            return True
        return False

    def receive_many(self, now: float, interface: str, frames: Iterable[bytes]) -> list[bool]:
        """Frames that arrived together (a driver's socket drained at once): each is
        handled as by :meth:`receive`, then the queues are served once for all of them.
        Returns, per frame, whether it verified (a driver learns a neighbour's link-layer
        address only from frames that did)."""
        iface = self._iface(interface)
        outcomes = [self._receive(now, iface, data) for data in frames]
        if any(o is _STIRRED or o is _HELD for o in outcomes):
            self._step(now)
        return [o is _STIRRED or o is _ABSORBED for o in outcomes]

    def _receive(self, now: float, iface: InterfaceConfig, data: bytes) -> _Outcome:
        """Handle one frame: dropped before anything could change, absorbed, or stirred."""
        interface = iface.name
        if self._overheard(now, iface, data):
            self.counters["overheard"] += 1
            return _Outcome.DROPPED
        try:
            if data and data[0] == FRAGMENT_BYTE0:
                whole = self.reassembly.add(now, interface, decode_fragment(data))
                if whole is None:
                    return _Outcome.HELD
                data = whole
            frame = self.codec.open(data, tag_len=iface.tag_len)
        except FrameError:
            self.counters["rejected"] += 1
            return _Outcome.DROPPED
        h = frame.header
        if iface.bitrate_bps is not None:  # narrowband: hellos are sparse, data says alive
            self.control.neighbours.heard_frame(now, iface, h.transmitter)
        if h.next_hop not in (self.config.address, ALL_HANDS):
            self.counters["overheard"] += 1
            return _Outcome.ABSORBED
        if h.type in _CONTROL_HANDLERS:
            return self._control(now, interface, frame)
        if h.type.is_data:
            self._data(now, interface, frame)
            return _Outcome.STIRRED
        return _Outcome.ABSORBED

    def _overheard(self, now: float, iface: InterfaceConfig, data: bytes) -> bool:
        """A frame for another next hop changes nothing here, so it is dropped unopened
        (SPEC.md §8.1.3): on a shared channel most frames are other nodes' business. On a
        narrowband link it is opened only when it is the freshest news of its sender."""
        if len(data) < BASE_HEADER_LEN or data[0] == FRAGMENT_BYTE0:
            return False
        next_hop = data[10] << 8 | data[11]
        if next_hop in (self.config.address, ALL_HANDS):
            return False
        if iface.bitrate_bps is None:
            return True
        n = self.control.neighbours.get((iface.name, data[2] << 8 | data[3]))
        return n is None or now - n.last_heard < n.interval_s

    def link_down(self, now: float, interface: str, neighbour: int | None = None) -> None:
        """The radio or OS says a link is gone: act at once, do not wait for hellos."""
        self.control.link_down(now, interface, neighbour)
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
            custody=is_unicast(destination) and _wants_custody(ftype, priority),
        )
        lifetime = _lifetime(header)
        self.seen.check_and_add((self.config.address, msg_id), now, lifetime)
        own = OwnMessage(header, body, now, now + lifetime)
        if destination == self.config.address:  # an application on this node: no radio
            self._deliveries.append(Delivery(Received(header, body), LOCAL))
            self.counters["delivered"] += 1
        elif is_unicast(destination):
            held = Held((self.config.address, msg_id), destination, header.priority,
                        own.expires_at, now, header.custody, own=own)  # fmt: skip
            if not self.custody.add(held):
                self.counters["shed_store_full"] += 1
        else:
            for iface in self.config.interfaces:
                self._queue_own_flood(now, own, iface)
            self.counters["originated"] += 1
        self._step(now)
        return msg_id

    def announce_departure(self, now: float, in_s: float) -> None:
        """This node will leave (a UAV returning, a battery running out) in ``in_s`` seconds;
        neighbours move their routes away while it still forwards (make-before-break)."""
        self.control.depart(now, in_s)
        self._step(now)

    def announce_prefix(self, now: float, prefix: Prefix) -> None:
        """Start serving an address block (a team's sub-net behind this gateway)."""
        self.control.originate(now, prefix)
        self._step(now)

    def withdraw_prefix(self, now: float, prefix: Prefix) -> None:
        """Stop serving an address block; the retraction leaves in this step."""
        self.control.withdraw(now, prefix)
        self._step(now)

    def handle_timer(self, now: float) -> None:
        self.control.tick(now)
        self._step(now)

    # -- outputs -----------------------------------------------------------------------

    def next_deadline(self) -> float:
        # Asked after every input (the driver re-arms its timer), so no lists are built.
        soonest = self.control.next_deadline()
        for t in (
            self.custody.next_deadline(),
            self.reassembly.next_expiry(),
            self.echoes.next_deadline(),
        ):
            if t is not None and t < soonest:
                soonest = t
        for q in self.queues.values():
            if not q:
                continue
            for t in (q.ready_at(), q.next_expiry()):
                if t is not None and t < soonest:
                    soonest = t
        return soonest

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
        self._now = now
        for out in self.control.take():
            self._queue_control(now, out)
        self._queue_custody_acks(now)
        self.custody.expire(now)
        for held in self.custody.ready(now):
            self._dispatch(now, held)
        for resend in self.echoes.due(now):
            self.counters["flood_repeated"] += 1
            resend(now)
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

    def _control(self, now: float, interface: str, frame: Frame) -> _Outcome:
        try:
            body = self.codec.deliver(frame, now=now).body
        except FrameError:
            self.counters["rejected"] += 1
            return _Outcome.ABSORBED
        sender = frame.header.transmitter
        self.control.stirred = False
        if isinstance(body, control_pb2.Hello):
            self.control.on_hello(now, interface, sender, body)
        elif isinstance(body, control_pb2.RouteUpdate):
            self.control.on_update(now, interface, sender, body)
        elif isinstance(body, control_pb2.RouteRequest):
            self.control.on_request(now, body)
        elif isinstance(body, control_pb2.CustodyAck):
            self._custody_acked(body)
            return _Outcome.STIRRED
        return _Outcome.STIRRED if self.control.busy() else _Outcome.ABSORBED

    def _queue_control(self, now: float, out: Outgoing) -> None:
        iface = self._iface(out.interface)
        # hop limit 0, key phase 0 (set when sealed), counter 0 (set when it leaves)
        header = Header(out.type, Priority.CONTROL, 0, 0, self.config.address, 0,
                        out.next_hop, out.next_hop)  # fmt: skip
        size = BASE_HEADER_LEN + out.body.ByteSize() + iface.tag_len
        build = control_builder(self.codec, iface, header, out.body)
        self.queues[out.interface].push(
            Queued(Priority.CONTROL, self.config.address, out.next_hop, build, now,
                   now + CONTROL_LIFETIME_S, size)
        )  # fmt: skip
        self.counters[_SENT[out.type]] += 1

    # -- data --------------------------------------------------------------------------

    def _data(self, now: float, interface: str, frame: Frame) -> None:
        h = frame.header
        key = (h.source, h.message_id)
        take_custody = h.custody and h.next_hop == self.config.address
        local = h.destination == self.config.address
        if not self.seen.check_and_add(key, now, _lifetime(h)):
            if take_custody and not local and not self.custody.holds(key):
                if h.hop_limit == 0:  # spent going round a loop: its sender keeps it (§9.3.1)
                    self.counters["hop_limit_reached"] += 1
                    return
                # It comes back after a reroute (we passed it on before, or originated it),
                # or is retried after we saw it with its hop limit spent: custody must be
                # taken now, or no node would hold it (§9.1).
                self.counters["custody_returned"] += 1
                self._accept_custody(now, interface, frame)
                return
            self.counters["duplicates"] += 1
            if self.echoes and self.echoes.heard(key, interface):
                self.counters["flood_echoed"] += 1
            if take_custody:  # we hold or delivered it; our acknowledgement was lost
                self._ack(interface, h, control_pb2.CUSTODY_DUPLICATE)
            return
        if local or h.destination == ALL_HANDS or h.destination in self.config.groups:
            self._deliver(now, interface, frame)
        if local:
            if take_custody:
                self._ack(interface, h, control_pb2.CUSTODY_ACCEPTED)
            return
        if h.hop_limit == 0:
            self.counters["hop_limit_reached"] += 1
        elif not is_unicast(h.destination):
            self._flood(now, frame, interface)
        elif take_custody:
            self._accept_custody(now, interface, frame)
        else:
            self._forward_unicast(now, frame)

    def _flood(self, now: float, frame: Frame, came_on: str) -> None:
        """Forward a group or all-hands message once on every interface (SPEC.md §9.5),
        watched for its echo where this node brings it onto a channel (§9.5.1)."""
        h = frame.header
        for iface in self.config.interfaces:
            if iface.subnet and not self._floods_into_subnet(h.destination):
                continue
            echo = iface.name != came_on and EchoWatch.wanted(iface, h.priority, h.hop_limit - 1)
            self._queue_relay(now, frame, iface.name, ALL_HANDS, echo=echo)

    def _floods_into_subnet(self, group: int) -> bool:
        """A team's message goes into a sub-net only by that team's own gateway (SPEC.md
        §9.5): the other teams' narrowband channels would spend airtime on it for nobody."""
        return not TEAM_BASE <= group <= TEAM_LAST or group in self.config.groups

    def _accept_custody(self, now: float, interface: str, frame: Frame) -> None:
        h = frame.header
        held = Held((h.source, h.message_id), h.destination, h.priority,
                    now + _lifetime(h) - (h.age_s or 0), now, True, frame=frame)  # fmt: skip
        if not self.custody.add(held):
            self.seen.forget((h.source, h.message_id))  # let the retry in when room returns
            self._ack(interface, h, control_pb2.CUSTODY_REFUSED_STORAGE_FULL)
            return
        self._ack(interface, h, control_pb2.CUSTODY_ACCEPTED)
        self.counters["custody_taken"] += 1

    def _ack(self, interface: str, h: Header, result: control_pb2.CustodyResult.ValueType) -> None:
        ref = messages_pb2.MessageRef(origin=h.source, msg_id=h.message_id)
        refs = self._acks.setdefault((interface, h.transmitter), [])
        refs.append(ref)
        if result != control_pb2.CUSTODY_ACCEPTED:
            self.counters[f"custody_ack_{control_pb2.CustodyResult.Name(result).lower()}"] += 1
        self._ack_results[(interface, h.transmitter, h.source, h.message_id)] = result

    def _queue_custody_acks(self, now: float) -> None:
        """One CUSTODY_ACK per neighbour and result for everything accepted in this step."""
        if not self._acks:  # asked on every processing step: usually none
            return
        by_result: dict[
            tuple[str, int, control_pb2.CustodyResult.ValueType], list[messages_pb2.MessageRef]
        ] = {}
        for (iface, neighbour), refs in self._acks.items():
            for ref in refs:
                result = self._ack_results[(iface, neighbour, ref.origin, ref.msg_id)]
                by_result.setdefault((iface, neighbour, result), []).append(ref)
        self._acks, self._ack_results = {}, {}
        for (iface, neighbour, result), refs in by_result.items():
            body = control_pb2.CustodyAck(refs=refs, result=result)
            self._queue_control(now, Outgoing(iface, FrameType.CUSTODY_ACK, body, neighbour))

    def _custody_acked(self, ack: control_pb2.CustodyAck) -> None:
        if ack.result == control_pb2.CUSTODY_REFUSED_STORAGE_FULL:
            self.counters["custody_refused"] += len(ack.refs)
            return  # keep it; the retry timer will offer it again
        for ref in ack.refs:
            if self.custody.acknowledged((ref.origin, ref.msg_id)):
                self.counters["custody_released"] += 1

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

    def _queue_relay(
        self,
        now: float,
        frame: Frame,
        iface_name: str,
        next_hop: int,
        *,
        since: float | None = None,
        echo: bool = False,
    ) -> None:
        """Queue ``frame`` on; ``since``: when it came in (a repeat queues it later), and
        ``echo``: wait to hear it come back, or send it again (§9.5.1)."""
        h = frame.header
        iface = self._iface(iface_name)
        came = now if since is None else since
        remaining = _lifetime(h) - (h.age_s or 0)
        build = relay_builder(self.codec, iface, frame, next_hop, came)
        on_drop = None
        if echo:

            def again(at: float) -> None:
                self._queue_relay(at, frame, iface_name, next_hop, since=came, echo=True)

            build, on_drop = self._echoed((h.source, h.message_id), iface, build, again)
        size = BASE_HEADER_LEN + 8 + len(frame.payload) + iface.tag_len
        self.queues[iface_name].push(
            Queued(h.priority, h.source, next_hop, build, now, came + remaining, size,
                   _freshness(h), on_drop)
        )  # fmt: skip
        self.counters["forwarded"] += 1

    def _queue_own_flood(self, now: float, own: OwnMessage, iface: InterfaceConfig) -> None:
        h = own.header
        build = own.builder(self.codec, iface, ALL_HANDS, lambda: self.counter)
        on_drop = None
        if EchoWatch.wanted(iface, h.priority, h.hop_limit):

            def again(at: float) -> None:
                self._queue_own_flood(at, own, iface)

            build, on_drop = self._echoed((self.config.address, own.msg_id), iface, build, again)
        self.queues[iface.name].push(
            Queued(h.priority, self.config.address, ALL_HANDS, build, now, own.expires_at,
                   own.size(iface), _freshness(h), on_drop)
        )  # fmt: skip

    def _echoed(
        self, key: MessageKey, iface: InterfaceConfig, inner: Build, resend: Resend
    ) -> tuple[Build, Callable[[], None]]:
        """Watch a flood for its echo: the build tells the watch when the frame left."""
        self.echoes.watch(key, iface.name, resend)

        def build(take: Callable[[], int], at: float) -> bytes:
            data = inner(take, at)
            self.echoes.left(key, iface, at, len(data))
            return data

        return build, lambda: self.echoes.forget(key, iface.name)

    def _dispatch(self, now: float, held: Held) -> None:
        """Queue a held message toward the current next hop, or leave it waiting."""
        route = self.control.routing.lookup(held.destination)
        if route is None or route.via is None:
            held.state = State.WAITING
            return
        iface_name, next_hop = route.via
        iface = self._iface(iface_name)
        held.state = State.QUEUED
        if held.own is not None:
            inner = held.own.builder(self.codec, iface, next_hop, lambda: self.counter)
            size, origin = held.own.size(iface), self.config.address
        else:
            assert held.frame is not None
            # A retry is this custodian's own attempt, with its own hop limit (§9.3.1); so
            # is a frame held at hop limit 0, which only a store of an older version holds.
            own_attempt = held.attempts > 0 or held.frame.header.hop_limit == 0
            hop_limit = self.config.hop_limit if own_attempt else None
            inner = relay_builder(self.codec, iface, held.frame, next_hop, held.held_since,
                                  hop_limit=hop_limit)  # fmt: skip
            size = BASE_HEADER_LEN + 8 + len(held.frame.payload) + iface.tag_len
            origin = held.frame.header.source

        timeout = iface.custody_timeout_s
        if iface.bitrate_bps is not None:  # narrowband: not half a minute per collision
            timeout = min(timeout, answer_wait_s(iface, size))

        def build(take: Callable[[], int], at: float) -> bytes:
            self.custody.sent(held, at, timeout)
            return inner(take, at)

        def dropped() -> None:  # the queue shed it: as good as lost on the air
            self.custody.sent(held, self._now, timeout)

        fresh = None if held.custody else _freshness_of(held)
        self.queues[iface_name].push(
            Queued(held.priority, origin, next_hop, build, now, held.expires_at, size, fresh,
                   dropped)
        )  # fmt: skip
        self.counters["originated" if held.own is not None else "forwarded"] += 1

    # -- helpers -----------------------------------------------------------------------

    def _iface(self, name: str) -> InterfaceConfig:
        """The interface called ``name`` (KeyError names it, as NodeConfig.interface does)."""
        iface = self._ifaces.get(name)
        if iface is None:
            raise KeyError(f"no interface named {name!r}")
        return iface

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


def _freshness_of(held: Held) -> tuple[int, FrameType, int] | None:
    header = held.own.header if held.own is not None else held.frame.header  # type: ignore[union-attr]
    return _freshness(header)


def _wants_custody(ftype: FrameType, priority: Priority | None) -> bool:
    return (DEFAULT_PRIORITY[ftype] if priority is None else priority) not in NO_CUSTODY
