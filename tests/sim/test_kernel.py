"""The kernel's contract (sim/kernel.py): events run in time order, equal times in the
order they were scheduled, never before now; ``run_until`` runs exactly what is due and
stands at its bound; ``events`` counts what ran, however a run is cut into pieces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tacmesh.sim.kernel import Kernel

TIMES = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
FOLLOW = st.one_of(st.none(), st.floats(min_value=-5.0, max_value=30.0, allow_nan=False))
"""What an event schedules when it runs: nothing, or one more event this far from now
(negative: in the past, which the kernel must run now)."""


def reference(start: float, plan: list[tuple[float, float | None]]) -> list[tuple[float, int]]:
    """The same events by the definition, without a heap: repeatedly run the pending
    event of least (time, scheduling order)."""
    now, order = start, 0
    pending: list[tuple[float, int, int]] = []
    for i, (when, _) in enumerate(plan):
        order += 1
        pending.append((max(when, now), order, i))
    ran = []
    while pending:
        event = min(pending)
        pending.remove(event)
        now, _, i = event
        ran.append((now, i))
        follow = plan[i][1] if i < len(plan) else None
        if follow is not None:
            order += 1
            pending.append((max(now + follow, now), order, len(plan) + len(ran)))
    return ran


@given(
    st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
    st.lists(st.tuples(TIMES, FOLLOW), max_size=30),
    st.lists(st.floats(min_value=0.0, max_value=200.0, allow_nan=False), max_size=6),
)
def test_events_run_by_time_then_scheduling_order_however_the_run_is_cut(
    start: float, plan: list[tuple[float, float | None]], cuts: list[float]
) -> None:
    k = Kernel(start)
    ran: list[tuple[float, int]] = []

    def run(i: int) -> None:
        ran.append((k.now, i))
        follow = plan[i][1] if i < len(plan) else None
        if follow is not None:
            k.at(k.now + follow, run, len(plan) + len(ran))

    for i, (when, _) in enumerate(plan):
        k.at(when, run, i)
    bound = float("-inf")  # the furthest run_until asked for so far
    for until in [*cuts, 1e9]:
        k.run_until(until)
        bound = max(bound, until)
        assert k.now == max(start, bound)
        assert all(t <= max(start, bound) for t, _ in ran)
        due = k.next_time()
        assert due is None or due > bound
        assert k.events == len(ran)
    assert ran == reference(start, plan)


def test_what_an_action_schedules_for_now_or_the_past_runs_now_after_what_was_due() -> None:
    k = Kernel(start=10.0)
    log: list[tuple[str, float]] = []

    def first(_: object) -> None:
        log.append(("first", k.now))
        k.at(k.now, lambda _: log.append(("same time", k.now)))
        k.at(k.now - 5.0, lambda _: log.append(("past", k.now)))

    k.at(3.0, lambda _: log.append(("before the start", k.now)))
    k.at(12.0, first)
    k.at(12.0, lambda _: log.append(("second", k.now)))
    k.at(13.0, lambda _: log.append(("later", k.now)))
    k.run_until(12.5)
    assert log == [
        ("before the start", 10.0),
        ("first", 12.0),
        ("second", 12.0),
        ("same time", 12.0),
        ("past", 12.0),
    ]
    assert (k.now, k.events, k.next_time()) == (12.5, 5, 13.0)
    k.run_until(11.0)  # a bound already passed: nothing runs, time does not go back
    assert (k.now, k.events, k.next_time()) == (12.5, 5, 13.0)
    k.run_until(13.0)  # an event exactly at the bound is due
    assert (log[-1], k.events, k.next_time()) == (("later", 13.0), 6, None)
