"""Queue items for what a node sends: its own messages, relayed frames, control messages.

Each item builds its frame only when its interface lets it leave (``scheduler.py``), with
the counter current at that moment, and the age the message has reached by then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import Message as PbMessage

from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.header import BASE_HEADER_LEN, Header
from tacmesh.protocol.messages import Body, encode_body

TakeCounter = Callable[[], int]

REORDER_SLACK = 32
"""A message's first transmission may use the counter reserved as its msg_id (saving the
6-byte origin field) if fewer than this many counters were used since: receivers' replay
windows (64) absorb that much reordering (SPEC.md §4.3.8)."""


@dataclass(slots=True)
class OwnMessage:
    """A message this node originated: its header (counter = msg_id) and body."""

    header: Header
    body: Body
    created_at: float
    expires_at: float
    first_sent: bool = False

    def __init__(  # as engine.events.Transmit's
        self,
        header: Header,
        body: Body,
        created_at: float,
        expires_at: float,
        first_sent: bool = False,
    ) -> None:
        self.header = header
        self.body = body
        self.created_at = created_at
        self.expires_at = expires_at
        self.first_sent = first_sent

    @property
    def msg_id(self) -> int:
        return self.header.counter

    def size(self, iface: InterfaceConfig) -> int:
        body = len(encode_body(self.header.type, self.body))
        return BASE_HEADER_LEN + 8 + body + iface.tag_len

    def builder(
        self,
        codec: WireCodec,
        iface: InterfaceConfig,
        next_hop: int,
        counter_now: Callable[[], int],
    ) -> Callable[[TakeCounter, float], bytes]:
        def build(take: TakeCounter, now: float) -> bytes:
            h = self.header
            held = int(now - self.created_at)
            if self.first_sent or held or counter_now() - self.msg_id >= REORDER_SLACK:
                h = _resent(h, take(), next_hop, held)
            else:
                h = _on_air(h, h.counter, next_hop)
            self.first_sent = True
            return codec.encode(h, self.body, tag_len=iface.tag_len)

        return build


def relay_builder(
    codec: WireCodec,
    iface: InterfaceConfig,
    frame: Frame,
    next_hop: int,
    received_at: float,
    *,
    hop_limit: int | None = None,
) -> Callable[[TakeCounter, float], bytes]:
    """``hop_limit``: a custodian's retry sets its own (SPEC.md §9.3.1)."""

    def build(take: TakeCounter, now: float) -> bytes:
        return codec.forward(
            frame,
            counter=take(),
            next_hop=next_hop,
            tag_len=iface.tag_len,
            held_s=int(now - received_at),
            hop_limit=hop_limit,
        )

    return build


def control_builder(
    codec: WireCodec, iface: InterfaceConfig, header: Header, body: PbMessage
) -> Callable[[TakeCounter, float], bytes]:
    def build(take: TakeCounter, now: float) -> bytes:
        return codec.encode(_on_air(header, take(), header.next_hop), body, tag_len=iface.tag_len)

    return build


# Headers are built field by field, not with dataclasses.replace: one is built for every
# frame that leaves, and replace costs more than all the rest of it.


def _on_air(h: Header, counter: int, next_hop: int) -> Header:
    """``h`` with this transmission's counter and next hop."""
    return Header(
        h.type, h.priority, h.hop_limit, h.key_phase, h.transmitter, counter, h.destination,
        next_hop, h.origin, h.msg_id, h.age_s, h.lifetime_s, h.custody, h.e2e,
    )  # fmt: skip


def _resent(h: Header, counter: int, next_hop: int, held_s: int) -> Header:
    """``h`` (a header this node originated: its counter is the msg_id) sent under a fresh
    counter: origin and message id made explicit, and its age if it has one (§4.3.8)."""
    return Header(
        h.type, h.priority, h.hop_limit, h.key_phase, h.transmitter, counter, h.destination,
        next_hop, h.source, h.counter, held_s or None, h.lifetime_s, h.custody, h.e2e,
    )  # fmt: skip
