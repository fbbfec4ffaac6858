"""Collisions at one receiver of an ALOHA channel (LoRa): who overlapped whom, and capture.

One tracker per (receiver, profile, channel). The world announces each frame as it starts
arriving (``begin``) and each of the receiver's own transmissions (``transmitting``), and
asks at each frame's end whether it ``survived``. Rules kept:

* Intervals are half-open: a frame ending exactly when another starts does not collide.
* A frame overlapping the receiver's own transmission is lost (half duplex), whatever
  its power.
* Otherwise a frame overlapped by others survives only if it is at least ``capture_db``
  stronger than every one of them (the LoRa capture effect); equal frames both die.
* A frame that has been decided still spoils later-ending frames it overlapped, so a
  record is forgotten only once it ended before every undecided frame started (and
  before now: a frame announced later cannot start in the past).
"""

from __future__ import annotations

from itertools import chain

_Arrival = tuple[float, float, float]
"""(start, end, received power in dBm) of one frame at this receiver. A plain tuple: one is
built for every frame every receiver hears, at a tenth of the cost of a dataclass."""


class CollisionTracker:
    def __init__(self, capture_db: float) -> None:
        self.capture_db = capture_db
        self._pending: dict[int, _Arrival] = {}
        self._decided: list[_Arrival] = []
        self._sending: list[tuple[float, float]] = []

    def begin(self, frame_id: int, start: float, end: float, rx_dbm: float) -> None:
        """A frame starts arriving (it occupies [start, end) at this receiver)."""
        if frame_id in self._pending:
            raise ValueError(f"frame {frame_id} is already arriving")
        self._pending[frame_id] = (start, end, rx_dbm)

    def transmitting(self, start: float, end: float) -> None:
        """This receiver sends during [start, end): it hears nothing then."""
        self._sending.append((start, end))

    def survived(self, frame_id: int) -> bool:
        """Whether the frame arrived intact; call at its end time, once per frame."""
        pending = self._pending
        frame = pending.pop(frame_id)
        if not (pending or self._decided or self._sending):
            # Alone on the air, as most frames are: intact, and forgotten at once (it has
            # ended, and no undecided frame is left for it to spoil).
            return True
        intact = not (self._sending and self._deaf(frame)) and self._captures_all(frame)
        self._forget(frame)
        return intact

    def _deaf(self, frame: _Arrival) -> bool:
        """The receiver was sending during part of the frame (intervals half-open)."""
        start, end, _ = frame
        return any(s < end and start < e for s, e in self._sending)

    def _captures_all(self, frame: _Arrival) -> bool:
        """The frame is captured over every other frame it overlaps, pending or decided:
        strictly stronger too, so that equal frames die even with a 0 dB threshold."""
        start, end, rx_dbm = frame
        capture_db = self.capture_db
        for s, e, rival_dbm in chain(self._pending.values(), self._decided):
            if (
                s < end
                and start < e
                and not (rx_dbm > rival_dbm and rx_dbm - rival_dbm >= capture_db)
            ):
                return False
        return True

    def _forget(self, decided: _Arrival) -> None:
        """Keep ``decided`` (it ends now) and every record that may still spoil a frame:
        those ending after the earliest start of an undecided frame, or after now."""
        now = decided[1]
        horizon = min(now, min((start for start, _, _ in self._pending.values()), default=now))
        self._decided = [a for a in self._decided if a[1] > horizon]
        if now > horizon:
            self._decided.append(decided)
        if self._sending:
            self._sending = [(s, e) for s, e in self._sending if e > horizon]

    def held(self) -> int:
        """Records still held (pending, decided, own transmissions): for leak tests. Not
        ``__len__``: an empty tracker must not be falsy."""
        return len(self._pending) + len(self._decided) + len(self._sending)
