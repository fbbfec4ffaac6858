"""The discrete-event kernel: virtual time and one heap of pending actions.

It is a bare ``heapq`` loop on purpose (a general framework such as SimPy costs 2x per
event here): an event is a tuple ``(time, sequence, action, argument)``, the sequence
number keeps equal times in scheduling order (so runs are deterministic), and cancelling
is left to the actions themselves (a node's timer checks that it is still the armed one).
``bench/sim_speed.py`` measures it against the bare loop.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

Action = Callable[[Any], object]


class Kernel:
    __slots__ = ("_heap", "_seq", "events", "now")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        """The virtual time of the event being processed (seconds)."""
        self.events = 0
        """Events processed so far."""
        self._heap: list[tuple[float, int, Action, Any]] = []
        self._seq = 0

    def at(self, when: float, action: Action, argument: Any = None) -> None:
        """Call ``action(argument)`` at virtual time ``when`` (not before now)."""
        self._seq += 1
        heapq.heappush(
            self._heap, (when if when > self.now else self.now, self._seq, action, argument)
        )

    def after(self, delay: float, action: Action, argument: Any = None) -> None:
        self.at(self.now + delay, action, argument)

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_until(self, until: float) -> None:
        """Process every event due up to ``until``, then stand at ``until``."""
        heap, pop = self._heap, heapq.heappop
        count = 0
        while heap and heap[0][0] <= until:
            when, _, action, argument = pop(heap)
            self.now = when
            action(argument)
            count += 1
        self.events += count
        self.now = max(self.now, until)
