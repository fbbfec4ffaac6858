"""Replay windows survive a restart through snapshot/restore (SPEC.md §7.5)."""

from __future__ import annotations

import pytest

from tacmesh.protocol.crypto.replay import ReplayGuard
from tacmesh.protocol.errors import FrameError, Reject


def test_restored_windows_reject_what_was_accepted_before_the_restart() -> None:
    before = ReplayGuard()
    for counter in (5, 7, 100):
        before.window(0x0101, 0).accept(counter)
    after = ReplayGuard()
    after.restore(before.snapshot())
    for counter in (100, 7, 36):  # seen, seen, older than the window
        with pytest.raises(FrameError) as err:
            after.window(0x0101, 0).check(counter)
        assert err.value.reason is Reject.REPLAYED
    after.window(0x0101, 0).check(99)  # inside the window, never seen: still accepted
    after.window(0x0101, 0).check(101)
    after.window(0x0101, 1).check(5)  # another epoch has its own window


def test_the_least_recently_heard_window_is_evicted_past_capacity() -> None:
    guard = ReplayGuard(capacity=3)
    for tx in (1, 2, 3):
        guard.window(tx, 0).accept(10)
    guard.window(1, 0, guard.find(1, 0)).accept(11)  # heard again: now the most recent
    guard.window(4, 0).accept(10)
    assert guard.find(2, 0) is None
    assert all(guard.find(tx, 0) is not None for tx in (1, 3, 4))
    assert list(guard.snapshot()) == [(3, 0), (1, 0), (4, 0)]  # least recently heard first


def test_take_changed_gives_each_moved_window_once() -> None:
    guard = ReplayGuard(capacity=2)
    guard.window(1, 0).accept(5)
    guard.window(1, 0).accept(6)
    guard.window(2, 0).accept(9)
    assert guard.take_changed() == {(1, 0): (6, 0b11), (2, 0): (9, 1)}
    assert guard.take_changed() == {}
    guard.window(2, 0).accept(10)
    guard.window(3, 0).accept(1)  # evicts (1, 0), which had not moved
    guard.window(1, 0).accept(7)  # back, new: evicts (2, 0), which had moved
    assert guard.take_changed() == {(3, 0): (1, 1), (1, 0): (7, 1)}
