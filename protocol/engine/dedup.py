"""Duplicate suppression by message identity (SPEC.md §9): each message once per node.

Entries live as long as the message could (its remaining lifetime), so a copy that
arrives late over a slow path is still recognised; the table is bounded, oldest first out.
"""

from __future__ import annotations

from collections import OrderedDict

MessageKey = tuple[int, int]
"""(origin, msg_id)."""


class SeenMessages:
    def __init__(self, capacity: int = 65536) -> None:
        self.capacity = capacity
        self._until: OrderedDict[MessageKey, float] = OrderedDict()

    def check_and_add(self, key: MessageKey, now: float, keep_s: float) -> bool:
        """True if ``key`` is new (and now remembered until ``now + keep_s``)."""
        until = self._until.get(key)
        if until is not None and until > now:
            return False
        self._until[key] = now + keep_s
        self._until.move_to_end(key)
        while len(self._until) > self.capacity:
            self._until.popitem(last=False)
        return True

    def forget(self, key: MessageKey) -> None:
        self._until.pop(key, None)

    def __len__(self) -> int:
        return len(self._until)
