"""Transmit queues (SPEC.md §5, §9.2): priority, fairness, freshness, airtime, shedding."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.scheduler import KEPT_QUEUES, InterfaceQueue, Queued, _Class
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.priority import Priority

T0 = 1_790_000_000.0
NARROW = InterfaceConfig.narrowband("lora0")


def item(
    priority: Priority,
    origin: int = 1,
    label: str = "",
    *,
    at: float = T0,
    lifetime: float = 600.0,
    size: int = 30,
    fresh: tuple[int, FrameType, int] | None = None,
) -> Queued:
    def build(take: Callable[[], int], now: float) -> bytes:
        return label.encode()

    return Queued(priority, origin, 0xFFFF, build, at, at + lifetime, size, fresh)


def drain(q: InterfaceQueue, now: float = T0) -> list[str]:
    out = []
    while (i := q.pop(now)) is not None:
        out.append(i.build(lambda: 0, now).decode())
        q.sent(now, i.size)
    return out


def test_classes_leave_in_priority_order() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"))
    for n in range(3):
        q.push(item(Priority.BULK, label=f"bulk{n}"))
        q.push(item(Priority.POSITION, label=f"pos{n}"))
    q.push(item(Priority.SOS, label="sos"))
    q.push(item(Priority.CONTROL, label="hello"))
    assert drain(q) == ["hello", "sos", "pos0", "pos1", "pos2", "bulk0", "bulk1", "bulk2"]


def test_origins_take_turns_inside_a_class() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"))
    for n in range(6):
        q.push(item(Priority.TEXT, origin=0xA, label=f"a{n}"))
    q.push(item(Priority.TEXT, origin=0xB, label="b0"))
    q.push(item(Priority.TEXT, origin=0xB, label="b1"))
    assert drain(q)[:5] == ["a0", "b0", "a1", "b1", "a2"]


def test_a_newer_report_replaces_the_queued_one() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"))
    q.push(item(Priority.POSITION, origin=7, label="old", fresh=(7, FrameType.POSITION, 10)))
    q.push(item(Priority.POSITION, origin=7, label="other-type", fresh=(7, FrameType.STATUS, 11)))
    q.push(item(Priority.POSITION, origin=8, label="other-node", fresh=(8, FrameType.POSITION, 3)))
    q.push(item(Priority.POSITION, origin=7, label="new", fresh=(7, FrameType.POSITION, 12)))
    q.push(item(Priority.POSITION, origin=7, label="late-old", fresh=(7, FrameType.POSITION, 11)))
    assert sorted(drain(q)) == ["new", "other-node", "other-type"]
    assert q.shed == {"superseded_report": 1, "stale_report": 1}


def test_a_full_queue_sheds_the_least_urgent_oldest_frame() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"), limit=3)
    q.push(item(Priority.BULK, label="bulk-old", at=T0))
    q.push(item(Priority.BULK, label="bulk-new", at=T0 + 1))
    q.push(item(Priority.TEXT, label="text", at=T0 + 2))
    q.push(item(Priority.SOS, label="sos", at=T0 + 3))
    assert q.shed == {"queue_full_bulk": 1}
    q.push(item(Priority.BULK, label="bulk-late", at=T0 + 4))  # same class: oldest goes
    assert q.shed == {"queue_full_bulk": 2}
    assert drain(q) == ["sos", "text", "bulk-late"]


def test_a_newcomer_less_urgent_than_everything_queued_is_the_one_shed() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"), limit=2)
    q.push(item(Priority.SOS, label="sos"))
    q.push(item(Priority.COMMAND, label="order"))
    q.push(item(Priority.POSITION, label="pos"))
    assert q.shed == {"queue_full_position": 1}
    assert drain(q) == ["sos", "order"]


def test_expired_frames_are_dropped_and_counted() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"))
    q.push(item(Priority.POSITION, label="stale", lifetime=5))
    q.push(item(Priority.TEXT, label="fine", lifetime=500))
    assert q.next_expiry() == T0 + 5
    q.expire(T0 + 6)
    assert drain(q, T0 + 6) == ["fine"] and q.shed == {"expired": 1}


def test_an_unlimited_interface_is_always_ready() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"))
    assert q.ready_at() is None
    q.push(item(Priority.BULK))
    assert q.ready_at() == float("-inf")


@given(sizes=st.lists(st.integers(20, 222), min_size=20, max_size=80))
def test_narrowband_airtime_stays_within_the_duty_cycle(sizes: list[int]) -> None:
    q = InterfaceQueue(NARROW)
    for n, size in enumerate(sizes):
        q.push(item(Priority.BULK, label=str(n), size=size))
    now, spent, sent = T0, 0.0, 0
    while len(q):
        ready = q.ready_at()
        assert ready is not None
        now = max(now, ready)
        popped = q.pop(now)
        assert popped is not None, "ready_at promised a frame"
        airtime = q.airtime(popped.size)
        q.sent(now, popped.size)
        spent, sent = spent + airtime, sent + 1
        # the budget: the burst plus the duty cycle's share of the time elapsed
        assert spent <= NARROW.airtime_burst_s + (now - T0) * NARROW.duty_cycle + airtime + 1e-9
    assert sent == len(sizes)


def test_narrowband_paces_frames_once_the_burst_is_spent() -> None:
    q = InterfaceQueue(NARROW)
    for n in range(100):
        q.push(item(Priority.BULK, label=str(n), size=222))
    first = drain(q)
    airtime = q.airtime(222)
    assert 0 < len(first) <= 1 + NARROW.airtime_burst_s / airtime  # the burst, then it waits
    ready = q.ready_at()
    assert ready is not None and ready > T0
    assert q.pop(ready - 0.001) is None
    assert q.pop(ready) is not None


@pytest.mark.parametrize("priority", list(Priority))
def test_every_class_can_be_queued_and_sent(priority: Priority) -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"))
    q.push(item(priority, label=priority.name))
    assert drain(q) == [priority.name]


def test_an_idle_narrowband_queue_waits_a_random_access_delay_then_sends_back_to_back() -> None:
    rng = random.Random(5)
    q = InterfaceQueue(NARROW, rng=random.Random(5))
    expected_wait = NARROW.access_jitter_s * rng.random()
    q.push(item(Priority.TEXT, origin=1, at=100.0))
    q.push(item(Priority.TEXT, origin=2, at=100.0))
    assert q.pop(100.0 + expected_wait - 1e-6) is None
    first = q.pop(100.0 + expected_wait)
    assert first is not None
    q.sent(100.0 + expected_wait, 40)
    # the second follows when the air is free: no second random wait
    assert q.ready_at() == pytest.approx(q.busy_until)


def test_ip_queues_never_wait_for_access() -> None:
    q = InterfaceQueue(InterfaceConfig("eth0"), rng=random.Random(1))
    q.push(item(Priority.TEXT, origin=1, at=5.0))
    assert q.pop(5.0) is not None


def test_a_frame_longer_than_the_airtime_burst_still_leaves_and_its_debt_paces_the_next() -> None:
    slow = replace(InterfaceConfig.narrowband("lora-sf12"), bitrate_bps=250.0)
    q = InterfaceQueue(slow)
    big = item(Priority.TEXT, at=T0, size=200)  # 6.4 s of air against a 2 s burst
    q.push(big)
    assert q.pop(T0) is big
    q.sent(T0, 200)
    q.push(item(Priority.TEXT, at=T0, size=200))
    ready = q.ready_at()
    assert ready is not None
    # the debt (6.4 - 2 s) and a full burst are earned back at the 10 % duty cycle
    assert ready == pytest.approx(T0 + (q.airtime(200) - 2.0 + 2.0) / 0.1)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["push", "pop", "expire"]),
            st.sampled_from(list(Priority)),
            st.integers(1, 4),
            st.integers(0, 3),
            st.booleans(),
        ),
        max_size=60,
    )
)
def test_the_queue_length_is_what_its_classes_hold(
    steps: list[tuple[str, Priority, int, int, bool]],
) -> None:
    """The kept total agrees with the classes through pushes, supersessions, sheds (a
    small limit), pops and expiries."""
    q = InterfaceQueue(InterfaceConfig("eth0"), limit=5)
    now = T0
    for n, (op, priority, origin, lifetime, fresh) in enumerate(steps):
        now += 1.0
        if op == "push":
            report = (origin, FrameType.POSITION, n) if fresh else None
            q.push(item(priority, origin, at=now, lifetime=lifetime + 0.5, fresh=report))
        elif op == "pop":
            q.pop(now)
        else:
            q.expire(now)
        assert len(q) == sum(c.count for c in q._classes.values()) <= 5


def test_a_report_refused_by_a_full_queue_is_not_the_one_the_next_report_replaces() -> None:
    # Found by a differential test: the refused report stayed recorded as the latest, and
    # the next report from the same origin tried to remove it from the queue (KeyError).
    q = InterfaceQueue(InterfaceConfig("eth0"), limit=2)
    q.push(item(Priority.SOS, origin=7, label="sos-a"))
    q.push(item(Priority.SOS, origin=8, label="sos-b"))
    q.push(item(Priority.POSITION, origin=1, label="pos1", fresh=(1, FrameType.POSITION, 1)))
    assert q.shed["queue_full_position"] == 1
    q.push(item(Priority.POSITION, origin=1, label="pos2", fresh=(1, FrameType.POSITION, 2)))
    assert q.shed["queue_full_position"] == 2 and q.shed["superseded_report"] == 0
    assert drain(q) == ["sos-a", "sos-b"]
    q.push(item(Priority.POSITION, origin=1, label="pos3", fresh=(1, FrameType.POSITION, 3)))
    assert drain(q) == ["pos3"]


class _RoundRobin:
    """The reference for a priority class: a list per origin, dropped when it empties."""

    def __init__(self) -> None:
        self.by_origin: dict[int, list[Queued]] = {}
        self.turn: list[int] = []

    def push(self, it: Queued) -> None:
        if it.origin not in self.by_origin:
            self.by_origin[it.origin] = []
            self.turn.append(it.origin)
        self.by_origin[it.origin].append(it)

    def pop(self) -> Queued:
        origin = self.turn.pop(0)
        it = self.by_origin[origin].pop(0)
        if self.by_origin[origin]:
            self.turn.append(origin)
        else:
            del self.by_origin[origin]
        return it

    def remove(self, it: Queued) -> None:
        self.by_origin[it.origin].remove(it)
        if not self.by_origin[it.origin]:
            del self.by_origin[it.origin]
            self.turn.remove(it.origin)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["push", "push", "pop", "remove"]), st.integers(1, 3 * KEPT_QUEUES)
        ),
        max_size=400,
    )
)
def test_a_class_keeps_emptied_queues_and_still_serves_origins_in_turn(
    steps: list[tuple[str, int]],
) -> None:
    """A priority class reuses an origin's emptied queue (and drops it past KEPT_QUEUES
    origins): what leaves, and in which order, is a plain round robin's, whatever the mix
    of pushes, pops and removals (a shed frame), over more origins than it keeps."""
    cls, ref, queued = _Class(), _RoundRobin(), []
    for n, (op, origin) in enumerate(steps):
        if op == "push":
            it = item(Priority.TEXT, origin, label=str(n), at=T0 + n)
            cls.push(it)
            ref.push(it)
            queued.append(it)
        elif op == "pop" and queued:
            it = cls.pop()
            assert it is ref.pop()
            queued.remove(it)
        elif op == "remove" and queued:
            it = queued.pop(origin % len(queued))
            cls.remove(it)
            ref.remove(it)
        assert len(cls) == len(queued) and list(cls.turn) == ref.turn
        assert {o for o, q in cls.by_origin.items() if q} == set(ref.by_origin)
        assert sum(1 for q in cls.by_origin.values() if not q) <= KEPT_QUEUES
        oldest = cls.oldest()
        assert oldest is min(queued, key=lambda i: i.queued_at, default=None)


@pytest.mark.parametrize("leave", ["sent", "shed"])
def test_a_class_of_many_origins_keeps_at_most_kept_queues_empty(leave: str) -> None:
    """A relay that queued one frame from each of three times KEPT_QUEUES origins holds on
    to KEPT_QUEUES emptied queues once they left, whether sent (pop) or shed (remove)."""
    cls = _Class()
    items = [item(Priority.TEXT, origin) for origin in range(1, 3 * KEPT_QUEUES + 1)]
    for it in items:
        cls.push(it)
    for it in items:
        if leave == "sent":
            assert cls.pop() is it
        else:
            cls.remove(it)
    assert len(cls) == 0 and not cls.turn and len(cls.by_origin) == KEPT_QUEUES
    cls.push(items[0])
    assert cls.pop() is items[0]
