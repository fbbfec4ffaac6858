"""Python's garbage collector during a simulation run.

A run allocates millions of short-lived objects (frames, headers, queue items, events)
and almost no reference cycles (about two a second in the 1,000-node operation), while
CPython's collector, counting allocations, walks the young objects every 700 of them and
now and then every object the engines hold: 7 % of that operation's run time went there.
For a run, what already exists (the built world) is frozen out of the collector and the
young objects are walked every 100,000 allocations: its share falls below 1 %. Cycles are
still collected, and nothing a run computes depends on when.

The collector is the process's: runs that overlap (a Dask worker's threads) share one
tuning, set by the first to start and undone by the last to end.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLDS = (100_000, 50, 100)
"""Allocations before a young collection, then young collections before each older one."""


class _Tuning:
    """The process's one tuning: how many runs hold it, and what to restore after them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs = 0
        self.before = gc.get_threshold()

    def enter(self) -> None:
        with self.lock:
            if not self.runs:
                self.before = gc.get_threshold()
                gc.freeze()
                gc.set_threshold(*RUN_THRESHOLDS)
            self.runs += 1

    def leave(self) -> None:
        with self.lock:
            self.runs -= 1
            if not self.runs:
                gc.set_threshold(*self.before)
                gc.unfreeze()


_TUNING = _Tuning()


@contextmanager
def tuned_for_a_run() -> Iterator[None]:
    """Freeze what exists and collect less often, until the block ends (even by an error)."""
    _TUNING.enter()
    try:
        yield
    finally:
        _TUNING.leave()
