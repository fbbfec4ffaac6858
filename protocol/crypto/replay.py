"""Replay windows (SPEC.md §7.5): one per (transmitter, key epoch), 64 counters wide.

A frame is accepted once: its counter must be newer than the window or inside it and not
yet seen. The window moves only after the frame's tag has verified, so forged frames cannot
push it forward. Counters are assigned when a frame leaves, so frames from one transmitter
arrive nearly in order and 64 absorbs the reordering between its interfaces.
"""

from __future__ import annotations

from collections import OrderedDict

from tacmesh.protocol.errors import FrameError, Reject

WINDOW = 64
MAX_TRACKED = 4096
_BITS = (1 << WINDOW) - 1


class ReplayWindow:
    __slots__ = ("bitmap", "highest")

    def __init__(self) -> None:
        self.highest = -1
        self.bitmap = 0
        """Bit i set: counter ``highest - i`` has been accepted."""

    def check(self, counter: int) -> None:
        if counter > self.highest:
            return
        offset = self.highest - counter
        if offset >= WINDOW:
            raise FrameError(Reject.REPLAYED, f"counter {counter} is older than the window")
        if self.bitmap >> offset & 1:
            raise FrameError(Reject.REPLAYED, f"counter {counter} was already accepted")

    def accept(self, counter: int) -> None:
        if counter > self.highest:
            shift = counter - self.highest
            # A jump past the window clears it: shifting by up to 2^32 bits would build a
            # 512 MiB integer first.
            kept = self.bitmap << shift if shift < WINDOW else 0
            self.bitmap = (kept | 1) & _BITS
            self.highest = counter
        else:
            self.bitmap |= 1 << (self.highest - counter)


class ReplayGuard:
    """Windows for every transmitter heard, least recently heard evicted past ``capacity``.

    Only direct neighbours are tracked (protection is per hop), so the bound is generous.
    """

    def __init__(self, capacity: int = MAX_TRACKED) -> None:
        self.capacity = capacity
        self._windows: OrderedDict[tuple[int, int], ReplayWindow] = OrderedDict()
        self._changed: set[tuple[int, int]] = set()

    def find(self, transmitter: int, epoch: int) -> ReplayWindow | None:
        """The window if one is held, without creating it or refreshing its age."""
        return self._windows.get((transmitter, epoch))

    def window(
        self, transmitter: int, epoch: int, found: ReplayWindow | None = None
    ) -> ReplayWindow:
        """The window to accept a verified frame in, made if none is held; ``found``: what
        :meth:`find` gave for it just before (a second lookup saved, on every frame)."""
        key = (transmitter, epoch)
        win = found if found is not None else self._windows.get(key)
        if win is None:
            win = self._windows[key] = ReplayWindow()
            if len(self._windows) > self.capacity:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(key)
        self._changed.add(key)  # window() is called only to accept a verified frame
        return win

    def take_changed(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Windows moved since the last call, as :meth:`snapshot` gives them: a daemon
        persists these with each commit, so a restart never reopens an accepted counter."""
        changed, self._changed = self._changed, set()
        return {k: (w.highest, w.bitmap) for k in changed if (w := self._windows.get(k))}

    def snapshot(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(transmitter, epoch) -> (highest, bitmap), for the durable store."""
        return {k: (w.highest, w.bitmap) for k, w in self._windows.items()}

    def restore(self, state: dict[tuple[int, int], tuple[int, int]]) -> None:
        for key, (highest, bitmap) in state.items():
            win = self.window(*key)
            win.highest, win.bitmap = highest, bitmap
