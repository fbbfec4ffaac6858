"""One node's view of the wire: build and read complete frames (SPEC.md §4-§7).

``WireCodec`` joins the pieces a node needs for every frame: its address and identity,
the mission's trust store and network keys, the replay windows, and a counter of every
rejection by reason. It is pure: the caller supplies ``now`` and the frame counter, and
gets bytes or a decoded message back.

Relays use :meth:`WireCodec.open` and :meth:`WireCodec.forward` (hop protection only);
endpoints use :meth:`WireCodec.receive`, which also opens the end-to-end envelope,
checks the sender's certificate and decodes the body.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tacmesh.protocol.crypto.certificates import Certificate
from tacmesh.protocol.crypto.e2e import SIGNED, Binding, unwrap, wrap
from tacmesh.protocol.crypto.hop import Frame, open_frame, seal
from tacmesh.protocol.crypto.identity import NodeIdentity
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.replay import ReplayGuard
from tacmesh.protocol.crypto.trust import TrustStore
from tacmesh.protocol.errors import FrameError, Reject, RejectCounter
from tacmesh.protocol.header import Header
from tacmesh.protocol.messages import MUST_SIGN, Body, decode_body, encode_body


@dataclass(slots=True)
class Received:
    """A frame delivered to this node: header, decoded body, and who vouched for it."""

    header: Header
    body: Body
    signed_by: Certificate | None = None
    sealed: bool = False

    def __init__(  # as engine.events.Transmit's
        self, header: Header, body: Body, signed_by: Certificate | None = None, sealed: bool = False
    ) -> None:
        self.header = header
        self.body = body
        self.signed_by = signed_by
        self.sealed = sealed


class WireCodec:
    def __init__(
        self,
        address: int,
        identity: NodeIdentity,
        trust: TrustStore,
        keyring: NetworkKeyring,
        guard: ReplayGuard | None = None,
    ) -> None:
        self.address = address
        self.identity = identity
        self.trust = trust
        self.keyring = keyring
        self.guard = guard if guard is not None else ReplayGuard()
        self.rejects = RejectCounter()

    def binding(self, header: Header) -> Binding:
        return Binding(
            self.trust.mission_id, header.type, header.source, header.destination, header.message_id
        )

    def encode(
        self,
        header: Header,
        body: Body,
        *,
        tag_len: int,
        sign: bool | None = None,
        seal_to: int | None = None,
        now: float | None = None,
    ) -> bytes:
        """Originate a message. Types in ``MUST_SIGN`` are signed unless ``sign=False``
        (which a peer will reject: kept for tests of that path). Sealing to ``seal_to``
        checks that node's certificate at ``now``, which is then required."""
        payload = encode_body(header.type, body)
        if sign is None:
            sign = header.type in MUST_SIGN
        seal_key = None
        if seal_to is not None:
            if seal_to != header.destination:  # only the destination tries to open (§7.6)
                raise ValueError(f"seal_to 0x{seal_to:04x} is not the frame's destination")
            if now is None:
                raise ValueError("seal_to needs now, to check the recipient's certificate")
            seal_key = self.trust.sender(seal_to, now).dh_key
        if sign or seal_to is not None:
            payload = wrap(
                payload,
                self.binding(header),
                signer=self.identity if sign else None,
                seal_to=seal_key,
            )
            header = replace(header, e2e=True)
        return seal(header, payload, self.keyring, tag_len)

    def open(self, data: bytes, *, tag_len: int, max_len: int = 65535) -> Frame:
        """Verify hop protection and replay; count and re-raise any rejection."""
        try:
            return open_frame(data, self.keyring, tag_len, self.guard, max_len)
        except FrameError as err:
            self.rejects.record(err)
            raise

    def forward(
        self,
        frame: Frame,
        *,
        counter: int,
        next_hop: int,
        tag_len: int,
        held_s: int = 0,
        hop_limit: int | None = None,
    ) -> bytes:
        """Re-protect a frame for the next hop; the payload (and any envelope) is unchanged.
        ``held_s``: whole seconds this node held the message, added to its age;
        ``hop_limit``: see :meth:`Header.relayed`."""
        header = frame.header.relayed(self.address, counter, next_hop, held_s, hop_limit)
        return seal(header, frame.payload, self.keyring, tag_len)

    def receive(self, data: bytes, *, tag_len: int, now: float, max_len: int = 65535) -> Received:
        """Open a frame addressed to this node and decode its message."""
        return self.deliver(self.open(data, tag_len=tag_len, max_len=max_len), now=now)

    def deliver(self, frame: Frame, *, now: float) -> Received:
        try:
            return self._deliver(frame, now)
        except FrameError as err:
            self.rejects.record(err)
            raise

    def _deliver(self, frame: Frame, now: float) -> Received:
        header, payload = frame.header, frame.payload
        policy = MUST_SIGN.get(header.type)
        signer: Certificate | None = None
        sealed = False
        if header.e2e:
            signs = bool(payload) and bool(payload[0] & SIGNED)
            sender = self.trust.sender(header.source, now) if signs else None
            recipient = self.identity if header.destination == self.address else None
            opened = unwrap(
                payload,
                self.binding(header),
                sender_key=None if sender is None else sender.sign_key,
                recipient=recipient,
            )
            payload, sealed = opened.body, opened.sealed
            signer = sender if opened.signed else None
        if policy is not None:
            if signer is None:
                raise FrameError(Reject.BAD_SIGNATURE, f"{header.type.name} must be signed")
            self.trust.sender(signer.address, now, policy.permission)
        return Received(header, decode_body(header.type, payload), signer, sealed)
