"""Reassembly of fragment frames (SPEC.md §4.5) with bounded memory and timeouts.

Incomplete frames are keyed by (interface, transmitter, datagram tag). Memory is bounded
twice, by the number of frames in reassembly and by the bytes held; when either is
exceeded the oldest incomplete frame is dropped, so a flood of forged or never-finished
fragments costs at most the bound and displaces only other incomplete frames.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from tacmesh.protocol.fragment import Fragment

Key = tuple[str, int, int]

MAX_FRAMES = 64
MAX_BYTES = 64 * 1024
TIMEOUT_S = 60.0


@dataclass(slots=True)
class _Partial:
    count: int
    started: float
    pieces: dict[int, bytes] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.pieces.values())


class Reassembly:
    def __init__(
        self, max_frames: int = MAX_FRAMES, max_bytes: int = MAX_BYTES, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self._partial: OrderedDict[Key, _Partial] = OrderedDict()
        self._bytes = 0
        self.dropped: Counter[str] = Counter()

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._partial)

    def add(self, now: float, interface: str, frag: Fragment) -> bytes | None:
        """Take a fragment; return the whole protected frame once every piece is in."""
        self.expire(now)
        key = (interface, frag.transmitter, frag.datagram_tag)
        part = self._partial.get(key)
        if part is not None and part.count != frag.count:
            self._drop(key, "inconsistent")  # the tag was reused for another frame
            part = None
        if part is None:
            part = self._partial[key] = _Partial(frag.count, now)
        if frag.index in part.pieces:
            self.dropped["duplicate_fragment"] += 1
            return None
        part.pieces[frag.index] = frag.chunk
        self._bytes += len(frag.chunk)
        if len(part.pieces) == part.count:
            whole = b"".join(part.pieces[i] for i in range(part.count))
            self._bytes -= part.size
            del self._partial[key]
            return whole
        self._bound(key)
        return None

    def _bound(self, newest: Key) -> None:
        """Drop the oldest other incomplete frames until within bounds; if ``newest`` alone
        is over the byte bound, it goes too."""
        while len(self._partial) > self.max_frames or self._bytes > self.max_bytes:
            victim = next((k for k in self._partial if k != newest), newest)
            self._drop(victim, "memory_full" if victim != newest else "too_large")
            if victim == newest:
                return

    def _drop(self, key: Key, why: str) -> None:
        part = self._partial.pop(key)
        self._bytes -= part.size
        self.dropped[why] += 1

    def expire(self, now: float) -> None:
        if not self._partial:  # checked on every processing step: usually nothing held
            return
        for key in [k for k, p in self._partial.items() if now - p.started >= self.timeout_s]:
            self._drop(key, "timeout")

    def next_expiry(self) -> float | None:
        if not self._partial:
            return None
        return min((p.started + self.timeout_s for p in self._partial.values()), default=None)
