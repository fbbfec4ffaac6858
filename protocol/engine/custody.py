"""Store-and-forward with hop-by-hop custody (SPEC.md §9).

Every unicast message a node originates, and every message it accepts custody of, is
held here until the next hop acknowledges custody (CUSTODY_ACK), its lifetime ends, or,
for messages sent without custody (positions, status), it has left. While no route
exists a message waits; when one appears it leaves at once. Unacknowledged messages are
sent again with exponential backoff, over whatever route is current then.

Storage is an interface (:class:`MessageStore`): in memory here; the daemon keeps it in
SQLite so that acknowledged custody survives a power cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.dedup import MessageKey
from tacmesh.protocol.engine.outbound import OwnMessage
from tacmesh.protocol.priority import Priority

MAX_BACKOFF = 8
"""Retries wait at most this many custody timeouts."""


class State(Enum):
    WAITING = "waiting for a route"
    QUEUED = "queued on an interface"
    SENT = "sent, waiting for custody acknowledgement"


@dataclass(slots=True)
class Held:
    key: MessageKey
    destination: int
    priority: Priority
    expires_at: float
    held_since: float
    custody: bool
    """True: keep until the next hop acknowledges; False: done once sent."""
    own: OwnMessage | None = None
    frame: Frame | None = None
    state: State = State.WAITING
    attempts: int = 0
    retry_at: float = float("inf")

    def __init__(  # noqa: PLR0917 - the dataclass's field order; as Transmit's (events.py)
        self,
        key: MessageKey,
        destination: int,
        priority: Priority,
        expires_at: float,
        held_since: float,
        custody: bool,
        own: OwnMessage | None = None,
        frame: Frame | None = None,
        state: State = State.WAITING,
        attempts: int = 0,
        retry_at: float = float("inf"),
    ) -> None:
        self.key = key
        self.destination = destination
        self.priority = priority
        self.expires_at = expires_at
        self.held_since = held_since
        self.custody = custody
        self.own = own
        self.frame = frame
        self.state = state
        self.attempts = attempts
        self.retry_at = retry_at


class MessageStore(Protocol):
    """Where held messages live; must survive restarts in a daemon."""

    def put(self, held: Held) -> None: ...
    def remove(self, key: MessageKey) -> Held | None: ...
    def get(self, key: MessageKey) -> Held | None: ...
    def __iter__(self) -> Iterator[Held]: ...
    def __len__(self) -> int: ...


class MemoryStore:
    def __init__(self) -> None:
        self._held: dict[MessageKey, Held] = {}

    def put(self, held: Held) -> None:
        self._held[held.key] = held

    def remove(self, key: MessageKey) -> Held | None:
        return self._held.pop(key, None)

    def get(self, key: MessageKey) -> Held | None:
        return self._held.get(key)

    def __iter__(self) -> Iterator[Held]:
        return iter(list(self._held.values()))

    def __len__(self) -> int:
        return len(self._held)


class CustodyStore:
    def __init__(self, store: MessageStore | None = None, capacity: int = 4096) -> None:
        self.store: MessageStore = store if store is not None else MemoryStore()
        self.capacity = capacity
        self.dropped: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.store)

    def has_room(self) -> bool:
        return len(self.store) < self.capacity

    def add(self, held: Held) -> bool:
        if not self.has_room():
            self.dropped["store_full"] += 1
            return False
        self.store.put(held)
        return True

    def holds(self, key: MessageKey) -> bool:
        return self.store.get(key) is not None

    def acknowledged(self, key: MessageKey) -> bool:
        return self.store.remove(key) is not None

    def sent(self, held: Held, now: float, timeout_s: float) -> None:
        """The message left; wait ``timeout_s`` (doubling per attempt) for custody."""
        if not held.custody:
            self.store.remove(held.key)
            return
        held.state = State.SENT
        held.retry_at = now + timeout_s * min(MAX_BACKOFF, 2**held.attempts)

    def ready(self, now: float) -> list[Held]:
        """Messages to (re)dispatch now: waiting ones, and sent ones whose time is up."""
        if not len(self.store):  # checked on every processing step: usually nothing held
            return []
        out = []
        for h in self.store:
            if h.state is State.WAITING:
                out.append(h)
            elif h.state is State.SENT and h.retry_at <= now:
                h.attempts += 1
                h.state = State.WAITING
                out.append(h)
        if len(out) > 1:
            out.sort(key=lambda h: (h.priority, h.held_since))
        return out

    def expire(self, now: float) -> None:
        if not len(self.store):
            return
        for h in self.store:
            if h.expires_at <= now:
                self.store.remove(h.key)
                self.dropped["expired"] += 1

    def next_deadline(self) -> float | None:
        """The soonest expiry or custody retry; asked after every input, so one pass."""
        if not len(self.store):
            return None
        soonest = float("inf")
        for h in self.store:
            soonest = min(soonest, h.expires_at)
            if h.state is State.SENT:
                soonest = min(soonest, h.retry_at)
        return soonest
