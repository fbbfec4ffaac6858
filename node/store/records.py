"""Held messages as rows of the ``held`` table, and back (see SCHEMA.md).

A row keeps what the engine needs to send a message again after a restart: the header in
its wire encoding, and either the body of a message this node originated or the payload of
a relayed frame exactly as it was opened (plaintext, or an end-to-end envelope a relay
cannot and must not re-encode). Transmission state (queued, sent, attempts, retry time) is
not stored: after a restart everything held is offered again (SPEC.md §9.3).
"""

from __future__ import annotations

from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.custody import Held
from tacmesh.protocol.engine.dedup import MessageKey
from tacmesh.protocol.engine.outbound import OwnMessage
from tacmesh.protocol.header import decode_header, encode_header
from tacmesh.protocol.messages import decode_body, encode_body
from tacmesh.protocol.priority import Priority

COLUMNS = (
    "origin, msg_id, destination, priority, expires_at, held_since, custody, "
    "header, payload, created_at, own_expires_at, first_sent"
)
Row = tuple[
    int, int, int, int, float, float, int, bytes, bytes, float | None, float | None, int | None
]
"""One ``held`` row, in :data:`COLUMNS` order; the last three are set for own messages only."""


def check_held(held: Held) -> None:
    """A held message carries exactly one of its own body or a relayed frame."""
    if (held.own is None) == (held.frame is None):
        raise ValueError(f"held message {held.key} must carry exactly one of own or frame")


def to_row(held: Held) -> Row:
    origin, msg_id = held.key
    common = (origin, msg_id, held.destination, int(held.priority), held.expires_at,
              held.held_since, int(held.custody))  # fmt: skip
    if held.own is not None:
        own = held.own
        body = encode_body(own.header.type, own.body)
        return (*common, encode_header(own.header), body, own.created_at, own.expires_at,
                int(own.first_sent))  # fmt: skip
    if held.frame is None:
        raise ValueError(f"held message {held.key} has neither a body nor a frame")
    return (*common, encode_header(held.frame.header), held.frame.payload, None, None, None)


def from_row(row: Row) -> Held:
    """The held message of ``row``, waiting for a route; ``ValueError`` if it is unreadable."""
    (origin, msg_id, destination, priority, expires_at, held_since, custody, header_bytes,
     payload, created_at, own_expires_at, first_sent) = row  # fmt: skip
    header, length = decode_header(header_bytes)
    if length != len(header_bytes):
        raise ValueError(f"held message {(origin, msg_id)}: trailing bytes after its header")
    own = frame = None
    if created_at is None:
        frame = Frame(header, bytes(payload))
    else:
        if own_expires_at is None or first_sent is None:
            raise ValueError(f"held message {(origin, msg_id)}: own message fields missing")
        body = decode_body(header.type, bytes(payload))
        own = OwnMessage(header, body, created_at, own_expires_at, bool(first_sent))
    return Held((origin, msg_id), destination, Priority(priority), expires_at, held_since,
                bool(custody), own=own, frame=frame)  # fmt: skip


def key_of(row: Row) -> MessageKey:
    return (row[0], row[1])
