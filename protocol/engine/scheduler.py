"""Per-interface transmit queues (SPEC.md §5, §9.2): priority, fairness, airtime, freshness.

Every frame a node sends waits here until its interface may carry it:
- classes leave in priority order (CONTROL, SOS, COMMAND, ALERT, POSITION, TEXT, BULK);
- inside a class, origins take turns, so one flooding source cannot starve the others;
- "latest value wins": a newer position or status report from the same origin replaces a
  queued older one instead of queueing behind it;
- a narrowband interface has an airtime budget (bit rate and duty cycle, as a token
  bucket of airtime), and the queue says when the next frame may leave;
- a full queue sheds the least urgent, oldest frame, and says so.

Frames are built when they leave, not when they are queued: the frame counter must
follow the order frames go on the air (SPEC.md §7.4.1).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tacmesh.protocol.engine.config import InterfaceConfig, Jitter
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.priority import Priority

LATEST_VALUE_WINS = frozenset({FrameType.POSITION, FrameType.STATUS})

KEPT_QUEUES = 64
"""Empty per-origin queues a priority class keeps for reuse (a relay hears many origins)."""

Build = Callable[[Callable[[], int], float], bytes]
"""Make the frame when it leaves, given a source of fresh counters and the send time."""


@dataclass(slots=True)
class Queued:
    priority: Priority
    origin: int
    next_hop: int
    build: Build
    queued_at: float
    expires_at: float
    size: int
    """Expected size on the air, for the airtime budget (the exact one is known once built)."""
    freshness: tuple[int, FrameType, int] | None = None
    """(origin, type, msg_id) for latest-value-wins types, else None."""
    on_drop: Callable[[], None] | None = None
    """Called if the queue discards the frame instead of sending it (custody retries)."""

    def __init__(  # noqa: PLR0917 - the dataclass's field order; as Transmit's (events.py)
        self,
        priority: Priority,
        origin: int,
        next_hop: int,
        build: Build,
        queued_at: float,
        expires_at: float,
        size: int,
        freshness: tuple[int, FrameType, int] | None = None,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.priority = priority
        self.origin = origin
        self.next_hop = next_hop
        self.build = build
        self.queued_at = queued_at
        self.expires_at = expires_at
        self.size = size
        self.freshness = freshness
        self.on_drop = on_drop

    def dropped(self) -> None:
        if self.on_drop is not None:
            self.on_drop()


@dataclass(slots=True)
class _Class:
    """One priority class: a queue per origin, served in turn. An origin's queue is kept
    when it empties: most frames find the queue empty and leave at once, and making and
    dropping a deque for each cost more than the rest of queueing it; past KEPT_QUEUES
    origins, an emptied queue goes. ``turn`` holds the origins whose queues are not empty."""

    by_origin: dict[int, deque[Queued]] = field(default_factory=dict)
    turn: deque[int] = field(default_factory=deque)
    count: int = 0

    def __len__(self) -> int:
        return self.count

    def push(self, item: Queued) -> None:
        origin = item.origin
        q = self.by_origin.get(origin)
        if q is None:
            q = self.by_origin[origin] = deque()
        if not q:
            self.turn.append(origin)
        q.append(item)
        self.count += 1

    def pop(self) -> Queued:
        origin = self.turn.popleft()
        q = self.by_origin[origin]
        item = q.popleft()
        if q:
            self.turn.append(origin)
        else:
            self._emptied(origin)
        self.count -= 1
        return item

    def remove(self, item: Queued) -> None:
        q = self.by_origin[item.origin]
        q.remove(item)
        self.count -= 1
        if not q:
            self.turn.remove(item.origin)
            self._emptied(item.origin)

    def _emptied(self, origin: int) -> None:
        """The origin's queue is empty (and out of turn): kept unless too many are."""
        if len(self.by_origin) > KEPT_QUEUES:
            del self.by_origin[origin]

    def oldest(self) -> Queued | None:
        heads = [q[0] for q in self.by_origin.values() if q]
        return min(heads, key=lambda i: i.queued_at, default=None)


class InterfaceQueue:
    def __init__(self, iface: InterfaceConfig, limit: int = 512, rng: Jitter | None = None) -> None:
        self.iface = iface
        self.limit = limit
        self.rng = rng
        self.access_at = float("-inf")
        """An idle interface that gets a frame waits until then (random access delay)."""
        self._classes = {p: _Class() for p in Priority}
        self._fresh: dict[tuple[int, FrameType], Queued] = {}
        self.busy_until = 0.0
        self.tokens = iface.airtime_burst_s
        self._refilled_at = 0.0
        self.shed: Counter[str] = Counter()
        self._total = 0
        """Frames queued in every class: asked on every processing step, so kept, not summed."""
        self._expiry: float | None = float("inf")
        """The soonest ``expires_at`` of the queued frames (inf when empty), or None when
        the frame that had it left: recomputed then, on demand. Asked on every step."""

    def __len__(self) -> int:
        return self._total

    def push(self, item: Queued) -> None:
        if self._contended() and self._idle(item.queued_at):
            assert self.rng is not None
            self.access_at = item.queued_at + self.iface.access_jitter_s * self.rng.random()
        if item.freshness is not None:
            origin, ftype, msg_id = item.freshness
            older = self._fresh.get((origin, ftype))
            if older is not None and older.freshness is not None:
                if _newer(older.freshness[2], msg_id):
                    self.shed["stale_report"] += 1  # the queued one is newer: drop this one
                    item.dropped()
                    return
                self._classes[older.priority].remove(older)
                self._gone(older)
                older.dropped()
                self.shed["superseded_report"] += 1
        if len(self) >= self.limit and not self._shed_for(item):
            return
        if item.freshness is not None:  # only once queued: a refused report replaces nothing
            self._fresh[(item.freshness[0], item.freshness[1])] = item
        self._classes[item.priority].push(item)
        self._total += 1
        if self._expiry is not None and item.expires_at < self._expiry:
            self._expiry = item.expires_at

    def _shed_for(self, item: Queued) -> bool:
        """Make room by dropping the oldest frame of the least urgent class, if it is no
        more urgent than ``item``; False if ``item`` itself is what must go."""
        for p in sorted(Priority, reverse=True):
            if p < item.priority:
                break
            victim = self._classes[p].oldest()
            if victim is not None:
                self._drop(victim)
                self.shed[f"queue_full_{p.name.lower()}"] += 1
                return True
        self.shed[f"queue_full_{item.priority.name.lower()}"] += 1
        item.dropped()
        return False

    def _drop(self, item: Queued) -> None:
        self._classes[item.priority].remove(item)
        self._gone(item)
        self._forget(item)
        item.dropped()

    def _gone(self, item: Queued) -> None:
        """Count out a frame taken from its class; if it was the soonest to expire, the
        next soonest is found when next asked."""
        self._total -= 1
        if not self._total:
            self._expiry = float("inf")
        elif self._expiry is not None and item.expires_at <= self._expiry:
            self._expiry = None

    def _forget(self, item: Queued) -> None:
        if item.freshness is not None:
            key = (item.freshness[0], item.freshness[1])
            if self._fresh.get(key) is item:
                del self._fresh[key]

    # -- leaving -----------------------------------------------------------------------

    def ready_at(self) -> float | None:
        """When the head frame may leave (-inf: at once), or None if the queue is empty."""
        head = self._peek()
        if head is None:
            return None
        if self.iface.bitrate_bps is None:
            return float("-inf")
        # A frame longer than the whole burst (a big frame at a slow spreading factor) goes
        # when the bucket is full, and its debt paces what follows: it must not wait forever.
        need = min(self.airtime(head.size), self.iface.airtime_burst_s)
        short = max(0.0, need - self.tokens)
        return max(
            self.busy_until, self.access_at, self._refilled_at + short / self.iface.duty_cycle
        )

    def _contended(self) -> bool:
        """A shared airtime-limited channel with a random access delay (and the dice)."""
        i = self.iface
        return i.bitrate_bps is not None and i.access_jitter_s > 0 and self.rng is not None

    def _idle(self, now: float) -> bool:
        return len(self) == 0 and now >= self.busy_until

    def pop(self, now: float) -> Queued | None:
        """The next frame to send now, or None if the interface must wait."""
        if self.iface.bitrate_bps is not None:
            self._refill(now)  # even when empty: accrued in other steps, tokens round otherwise
        if not self._total:  # most steps find the queue empty
            return None
        ready = self.ready_at()
        if ready is None or ready > now:
            return None
        for c in self._classes.values():  # in priority order
            if c.count:
                item = c.pop()
                self._gone(item)
                self._forget(item)
                return item
        return None

    def sent(self, now: float, size: int) -> None:
        """Account for a frame of ``size`` bytes put on the air at ``now``."""
        if self.iface.bitrate_bps is None:
            return
        self._refill(now)
        airtime = self.airtime(size)
        self.tokens -= airtime
        self.busy_until = now + airtime

    def airtime(self, size: int) -> float:
        rate = self.iface.bitrate_bps
        return 0.0 if rate is None else self.iface.preamble_s + size * 8 / rate

    def _refill(self, now: float) -> None:
        # pop and sent refill again within one step: then nothing has accrued, and as the
        # tokens never exceed the burst, the update would leave everything as it is.
        if now <= self._refilled_at:
            return
        elapsed = now - self._refilled_at
        self._refilled_at = now
        self.tokens = min(self.iface.airtime_burst_s, self.tokens + elapsed * self.iface.duty_cycle)

    def _peek(self) -> Queued | None:
        for c in self._classes.values():  # in priority order
            if c.count:
                return c.by_origin[c.turn[0]][0]
        return None

    def expire(self, now: float) -> None:
        soonest = self.next_expiry()  # checked on every processing step: usually not due
        if soonest is None or soonest > now:
            return
        for c in self._classes.values():
            for q in list(c.by_origin.values()):
                for item in [i for i in q if i.expires_at <= now]:
                    c.remove(item)
                    self._gone(item)
                    self._forget(item)
                    item.dropped()
                    self.shed["expired"] += 1

    def next_expiry(self) -> float | None:
        if not self._total:
            return None
        if self._expiry is None:
            self._expiry = min(
                i.expires_at
                for c in self._classes.values()
                for q in c.by_origin.values()
                for i in q
            )
        return self._expiry


def _newer(a: int, b: int) -> bool:
    """msg_id ``a`` is after ``b`` (32-bit modular)."""
    return a != b and (a - b) % (1 << 32) < (1 << 31)
