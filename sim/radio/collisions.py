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

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Arrival:
    start: float
    end: float
    rx_dbm: float


def _overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> bool:
    return a_start < b_end and b_start < a_end


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
        self._pending[frame_id] = _Arrival(start, end, rx_dbm)

    def transmitting(self, start: float, end: float) -> None:
        """This receiver sends during [start, end): it hears nothing then."""
        self._sending.append((start, end))

    def survived(self, frame_id: int) -> bool:
        """Whether the frame arrived intact; call at its end time, once per frame."""
        frame = self._pending.pop(frame_id)
        deaf = any(_overlap(frame.start, frame.end, s, e) for s, e in self._sending)
        others = [*self._pending.values(), *self._decided]
        rivals = [o.rx_dbm for o in others if _overlap(frame.start, frame.end, o.start, o.end)]
        intact = not deaf and all(self._captures(frame.rx_dbm, r) for r in rivals)
        self._decided.append(frame)
        self._forget(now=frame.end)
        return intact

    def _captures(self, rx_dbm: float, rival_dbm: float) -> bool:
        # strictly stronger too, so that equal frames die even with a 0 dB threshold
        return rx_dbm > rival_dbm and rx_dbm - rival_dbm >= self.capture_db

    def _forget(self, now: float) -> None:
        horizon = min((a.start for a in self._pending.values()), default=now)
        horizon = min(horizon, now)
        self._decided = [a for a in self._decided if a.end > horizon]
        self._sending = [(s, e) for s, e in self._sending if e > horizon]

    def held(self) -> int:
        """Records still held (pending, decided, own transmissions): for leak tests. Not
        ``__len__``: an empty tracker must not be falsy."""
        return len(self._pending) + len(self._decided) + len(self._sending)
