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
