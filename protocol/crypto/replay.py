"""Replay windows (SPEC.md §7.5): one per (transmitter, key epoch), 64 counters wide.

A frame is accepted once: its counter must be newer than the window or inside it and not
yet seen. The window moves only after the frame's tag has verified, so forged frames cannot
push it forward. Counters are assigned when a frame leaves, so frames from one transmitter
arrive nearly in order and 64 absorbs the reordering between its interfaces.
"""

from __future__ import annotations

from tacmesh.protocol.errors import FrameError, Reject

WINDOW = 64
MAX_TRACKED = 4096
_BITS = (1 << WINDOW) - 1


class ReplayWindow:
    __slots__ = ("bitmap", "changed", "heard", "highest", "key")

    def __init__(self, key: tuple[int, int] = (0, 0)) -> None:
        self.highest = -1
        self.bitmap = 0
        """Bit i set: counter ``highest - i`` has been accepted."""
        self.key = key
        """(transmitter, epoch): where its guard files it."""
        self.heard = 0
        """When its guard last accepted a frame in it, in the guard's own count."""
        self.changed = False
        """Moved since its guard's last ``take_changed``."""

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
    Recency is a count stamped on the window, not an order kept in the table: every frame
    received refreshes it, and moving an entry to the end of an ordered table cost a tenth
    of opening a frame. Eviction, which needs more authenticated transmitters than the
    bound, scans for the oldest stamp instead.
    """

    def __init__(self, capacity: int = MAX_TRACKED) -> None:
        self.capacity = capacity
        self._windows: dict[tuple[int, int], ReplayWindow] = {}
        self._changed: list[ReplayWindow] = []
        """Windows moved since the last ``take_changed``, each once (its ``changed``)."""
        self._heard = 0

    def find(self, transmitter: int, epoch: int) -> ReplayWindow | None:
        """The window if one is held, without creating it or refreshing its age."""
        return self._windows.get((transmitter, epoch))

    def window(
        self, transmitter: int, epoch: int, found: ReplayWindow | None = None
    ) -> ReplayWindow:
        """The window to accept a verified frame in, made if none is held; ``found``: what
        :meth:`find` gave for it just before (a second lookup saved, on every frame)."""
        win = found if found is not None else self._windows.get((transmitter, epoch))
        self._heard += 1
        if win is None:
            key = (transmitter, epoch)
            win = self._windows[key] = ReplayWindow(key)
            win.heard = self._heard  # before eviction, which must not pick the newcomer
            if len(self._windows) > self.capacity:
                self._evict()
        else:
            win.heard = self._heard
        if not win.changed:  # window() is called only to accept a verified frame
            win.changed = True
            self._changed.append(win)
        return win

    def _evict(self) -> None:
        oldest = min(self._windows.values(), key=_heard)
        del self._windows[oldest.key]

    def take_changed(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Windows moved since the last call, as :meth:`snapshot` gives them: a daemon
        persists these with each commit, so a restart never reopens an accepted counter."""
        changed, self._changed = self._changed, []
        out = {}
        for w in changed:
            w.changed = False
            if self._windows.get(w.key) is w:  # not evicted since
                out[w.key] = (w.highest, w.bitmap)
        return out

    def snapshot(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(transmitter, epoch) -> (highest, bitmap), least recently heard first (the
        order :meth:`restore` needs to keep recency)."""
        return {w.key: (w.highest, w.bitmap) for w in sorted(self._windows.values(), key=_heard)}

    def restore(self, state: dict[tuple[int, int], tuple[int, int]]) -> None:
        for key, (highest, bitmap) in state.items():
            win = self.window(*key)
            win.highest, win.bitmap = highest, bitmap


def _heard(w: ReplayWindow) -> int:
    return w.heard
