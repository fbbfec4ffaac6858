"""Link sensing (SPEC.md §8.1): who we hear, who hears us, and what a hop to them costs.

Reception quality is the share of a neighbour's last 16 hellos that arrived, counted from
the gaps in their sequence numbers. Transmission quality is what the neighbour reports
hearing from us in the heard list of its hellos; until it does, the link is one-way and
unusable. A neighbour is lost when it has been silent for ``dead_after_intervals`` of its
hello intervals, or at once when the link reports down.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.heard import quality_for
from tacmesh.protocol.pb import control_pb2

HISTORY = 16
PROBATION_HELLOS = 8
"""A neighbour that comes back soon after it timed out carries no route until it has been
heard this many more times with good quality: a link at the edge of range that keeps
dropping must not pull routes (and seqno requests, and updates) after it every time."""
PROBATION_QUALITY = 191
"""Reception quality (of 255, i.e. 75 %) needed to end a probation."""
PROBATION_MEMORY_INTERVALS = 32
SEQNO_MOD = 1 << 16
INFINITY = 0xFFFF
COST_HYSTERESIS = 8
"""The cost in use follows the measured one only when they differ by 1/8 or more (or one
is infinite): on a narrowband channel collisions move a link's measured quality with
nearly every hello, and each move would walk every route through the neighbour."""

_WINDOW_MASKS = tuple((1 << w) - 1 for w in range(HISTORY + 1))
"""The last ``w`` hellos of the history."""

NeighbourKey = tuple[str, int]
"""(interface name, neighbour address)."""


@dataclass(slots=True)
class Neighbour:
    interface: str
    address: int
    last_heard: float
    interval_s: float
    last_seqno: int
    history: int = 1
    """Bit i set: the hello i hellos ago arrived."""
    heard_count: int = 1
    tx_quality: int = 0
    """0..255: share of our hellos the neighbour reports hearing."""
    departure_at: float | None = None
    """When the neighbour announced it will leave (a UAV returning, a battery running out)."""
    probation: int = 0
    """Hellos still to hear before the link may carry routes (0: it may)."""
    rx_quality: int = 255
    """0..255: share of the neighbour's recent hellos we received (``history`` counted
    when it changes; at most 255, as at most ``window`` of ``window`` bits are set)."""
    cost: int = INFINITY
    """The link cost in use (SPEC.md §8.1.2): the measured cost, with hysteresis."""
    filed_at: float = float("inf")
    """Where the table's death heap holds this neighbour: never later than its death."""
    hears: bytes = b""
    """The heard list of its latest full hello (packed, protocol/heard.py): who it hears,
    and how well. On narrowband it says which routes through us it can do without."""
    gone: bool = False
    """Out of the table (dead or dropped): its death-heap entry is stale."""

    @property
    def key(self) -> NeighbourKey:
        return (self.interface, self.address)

    def heard(self, now: float, seqno: int) -> None:
        gap = (seqno - self.last_seqno) % SEQNO_MOD
        if gap == 0 or gap > SEQNO_MOD // 2:
            return  # a duplicate or a restart: keep the history
        shift = gap if gap < HISTORY else HISTORY
        history = self.history = ((self.history << shift) | 1) & _WINDOW_MASKS[HISTORY]
        count = self.heard_count = self.heard_count + shift
        # Counted here, once per hello, as link costs ask for it on every hello and update.
        window = count if count < HISTORY else HISTORY
        self.rx_quality = 255 * (history & _WINDOW_MASKS[window]).bit_count() // window
        self.last_seqno = seqno
        self.last_heard = now
        if self.probation:
            self.probation -= 1
            if not self.probation and self.rx_quality < PROBATION_QUALITY:
                self.probation = PROBATION_HELLOS  # still flaky: another round

    def dead_at(self, iface: InterfaceConfig) -> float:
        return self.last_heard + iface.dead_after_intervals * self.interval_s


def measured_cost(iface: InterfaceConfig, n: Neighbour) -> int:
    """The interface's base cost times the expected transmissions, from the qualities."""
    return INFINITY if n.probation else link_cost(iface, n.rx_quality, n.tx_quality)


def link_cost(iface: InterfaceConfig, rx_quality: int, tx_quality: int) -> int:
    """SPEC.md §8.1.2: base cost x 255² / (rx x tx), qualities of 255; infinite if either
    is 0. Also what a node works out for two of its neighbours from their heard lists."""
    if rx_quality == 0 or tx_quality == 0:
        return INFINITY
    return min(INFINITY - 1, round(iface.cost * (255 * 255) / (rx_quality * tx_quality)))


def _follow(n: Neighbour, measured: int) -> bool:
    """Move the cost in use to ``measured`` if the change is worth it; True if it moved."""
    held = n.cost
    if measured == held:
        return False
    if measured < INFINITY and held < INFINITY and abs(measured - held) * COST_HYSTERESIS < held:
        return False
    n.cost = measured
    return True


class NeighbourTable:
    def __init__(self, address: int) -> None:
        self.address = address
        self._by_key: dict[NeighbourKey, Neighbour] = {}
        self._timed_out: dict[NeighbourKey, float] = {}
        """Neighbours lost by silence, and when: one back soon is put on probation."""
        self._deaths: list[tuple[float, int, Neighbour]] = []
        """(time of death, filing number, neighbour), a heap with an entry per neighbour at its
        ``filed_at``, which is never later than its death. A hello that puts a death off
        leaves the entry alone; when it comes to the top it is moved to the new death.
        The next deadline is then exact without scanning the table (a relay hears a
        hundred neighbours a second), no wake-up is spent at a death a hello has since
        put off, and a hello costs no heap operation. Entries of neighbours gone, or filed
        again earlier (a shorter interval), are dropped when they come to the top. The
        entry holds the neighbour itself, not its key: ``next_expiry`` runs after every
        input, and a lookup by (interface, address) was most of its cost."""
        self._filings = 0
        """Breaks ties between entries: neighbours do not compare."""

    def __iter__(self) -> Iterator[Neighbour]:
        return iter(list(self._by_key.values()))

    def get(self, key: NeighbourKey) -> Neighbour | None:
        return self._by_key.get(key)

    def on_hello(
        self, now: float, iface: InterfaceConfig, sender: int, hello: control_pb2.Hello
    ) -> tuple[Neighbour, bool]:
        """Record a hello; return the neighbour and whether the cost in use changed (its
        usability, or a move of 1/8 or more)."""
        key = (iface.name, sender)
        n = self._by_key.get(key)
        if hello.interval_ms:
            interval = hello.interval_ms / 1000
        else:  # a short hello: the interval last announced still holds
            interval = iface.hello_interval_s if n is None else n.interval_s
        if n is None:
            n = Neighbour(iface.name, sender, now, interval, hello.seqno % SEQNO_MOD)
            lost_at = self._timed_out.pop(key, None)
            if lost_at is not None and now - lost_at < PROBATION_MEMORY_INTERVALS * interval:
                n.probation = PROBATION_HELLOS
            self._by_key[key] = n
        else:
            if hello.fresh_start:  # its seqnos started again: count from here
                n.last_seqno = (hello.seqno - 1) % SEQNO_MOD
            n.heard(now, hello.seqno % SEQNO_MOD)
            n.interval_s = interval
            n.last_heard = now
        if hello.heard or hello.interval_ms:  # a full hello: its heard list is authoritative
            n.tx_quality = quality_for(hello.heard, self.address)
            n.hears = hello.heard
        if hello.departure_in_s:
            n.departure_at = now + hello.departure_in_s
        self._file(n, iface)
        return n, _follow(n, measured_cost(iface, n))

    def _file(self, n: Neighbour, iface: InterfaceConfig) -> None:
        """Keep ``n`` in the death heap no later than its death: a new neighbour, or a
        shorter interval that brings the death nearer, gets an entry of its own."""
        at = n.dead_at(iface)
        if at < n.filed_at:
            n.filed_at = at
            self._filings += 1
            heapq.heappush(self._deaths, (at, self._filings, n))

    def heard_frame(self, now: float, iface: InterfaceConfig, address: int) -> None:
        """Any authenticated frame from a neighbour proves it is alive: on a narrowband
        link, data carries the liveness that sparse hellos alone would take minutes to."""
        n = self._by_key.get((iface.name, address))
        if n is not None and now > n.last_heard:
            n.last_heard = now  # its death only moves later: next_expiry moves its entry

    def expire(self, now: float, interfaces: dict[str, InterfaceConfig]) -> list[Neighbour]:
        soonest = self.next_expiry(interfaces)
        if soonest is None or now < soonest:
            return []
        lost = [n for n in self._by_key.values() if now >= n.dead_at(interfaces[n.interface])]
        for n in lost:
            del self._by_key[n.key]
            n.gone = True
            self._timed_out[n.key] = now
        if len(self._timed_out) > 4 * len(self._by_key) + 64:  # bounded: forget the oldest
            for key in sorted(self._timed_out, key=self._timed_out.__getitem__)[:64]:
                del self._timed_out[key]
        return lost

    def drop(self, interface: str, address: int | None = None) -> list[Neighbour]:
        """Link-down: forget one neighbour, or every neighbour on the interface."""
        lost = [
            n
            for n in self._by_key.values()
            if n.interface == interface and (address is None or n.address == address)
        ]
        for n in lost:
            del self._by_key[n.key]
            n.gone = True
        return lost

    def next_expiry(self, interfaces: dict[str, InterfaceConfig]) -> float | None:
        """When the next neighbour dies if nothing more is heard from it (None: none)."""
        deaths = self._deaths
        while deaths:
            at, filing, n = deaths[0]
            if n.gone or n.filed_at != at:
                heapq.heappop(deaths)  # gone, or filed again earlier
                continue
            due = n.dead_at(interfaces[n.interface])
            if due == at:
                return at
            n.filed_at = due  # heard since: its entry moves to its new death
            heapq.heapreplace(deaths, (due, filing, n))
        return None

    def on(self, interface: str) -> list[Neighbour]:
        """The neighbours heard on ``interface``, as a full hello lists them."""
        return [n for n in self._by_key.values() if n.interface == interface]
