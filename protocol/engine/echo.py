"""Echoes of urgent floods on narrowband channels (SPEC.md §9.5.1).

A flood carries no custody. On a pure-ALOHA channel one overlap at the moment a gateway
puts an order on its team's channel costs every member that order: the members are close
together, so a teammate's frame that overlaps it is the stronger one at all of them (the
simulator's valley lost one order in six to a whole team so). Members flood again what
they hear, so the node that brought the message onto the channel hears it come back when
it got through: that copy is the acknowledgement. Heard nothing by the deadline, it sends
the message again, a bounded number of times.

Only SOS and COMMAND floods are watched, only on narrowband interfaces, and only where
this node brought the message onto the channel (it originated it, or it came in on another
interface): a node flooding again on the channel it heard the message on knows that the
channel has it.

The same wait bounds a unicast's custody timeout there (SPEC.md §9.3): its next hop's
acknowledgement is the answer then, and the interface's 30 s default cost one SOS in five,
and one vitals report in ten, half a minute or more in the simulated operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.priority import Priority

ECHO_RETRIES = 2
"""Repeats after the first transmission, each when no copy came back in time."""
ECHO_WAIT_JITTERS = 3.0
"""The wait for an echo after a frame ends, in the interface's random access delays: the
members queue their copies behind that delay, and the first of several is soon heard."""
WATCHED = Priority.COMMAND
"""Floods of this class and more urgent ones (SOS) are watched: orders, SOS calls."""

MessageKey = tuple[int, int]
Resend = Callable[[float], None]
"""Queue the message on the interface again (at ``now``)."""


def answer_wait_s(iface: InterfaceConfig, size: int) -> float:
    """How long after a ``size``-byte frame leaves narrowband ``iface`` its answer (a
    member's echo, the next hop's custody acknowledgement) is due: two airtimes, and the
    answerer's random access delay three times over (it may queue behind others
    answering the same frame)."""
    assert iface.bitrate_bps is not None
    airtime = size * 8 / iface.bitrate_bps + iface.preamble_s
    return 2 * airtime + ECHO_WAIT_JITTERS * iface.access_jitter_s


@dataclass(slots=True)
class _Watch:
    resend: Resend
    tries_left: int
    due: float = float("inf")
    """When to send again if no echo came: set once the frame has left."""


class EchoWatch:
    """The floods this node is waiting to hear come back, by (message, interface)."""

    def __init__(self) -> None:
        self._watching: dict[tuple[MessageKey, str], _Watch] = {}
        self._soonest: float | None = None
        """Cached earliest due time (None: to be computed)."""

    def __len__(self) -> int:
        return len(self._watching)

    @staticmethod
    def wanted(iface: InterfaceConfig, priority: Priority, hop_limit_on_air: int) -> bool:
        """Whether a flood sent on ``iface`` is worth watching: urgent, on a narrowband
        channel, and sent with hops left so that the members can flood it again."""
        return iface.bitrate_bps is not None and priority <= WATCHED and hop_limit_on_air > 0

    def watch(self, key: MessageKey, interface: str, resend: Resend) -> None:
        """The flood is queued on ``interface`` (first time: retries are counted from here)."""
        slot = (key, interface)
        held = self._watching.get(slot)
        if held is None:
            self._watching[slot] = _Watch(resend, ECHO_RETRIES)
        else:
            held.due = float("inf")
            self._soonest = None

    def left(self, key: MessageKey, iface: InterfaceConfig, at: float, size: int) -> None:
        """The frame went on the air at ``at``: the echo is due within the wait."""
        held = self._watching.get((key, iface.name))
        if held is None:
            return  # echoed while it waited in the queue
        held.due = at + answer_wait_s(iface, size)
        if self._soonest is not None and held.due < self._soonest:
            self._soonest = held.due

    def heard(self, key: MessageKey, interface: str) -> bool:
        """A copy came in on ``interface``: a member has it and floods it. True if that
        was an echo this node waited for."""
        if self._watching.pop((key, interface), None) is None:
            return False
        self._soonest = None
        return True

    def forget(self, key: MessageKey, interface: str) -> None:
        """The queue dropped the frame (expired, shed): nothing left to repeat."""
        if self._watching.pop((key, interface), None) is not None:
            self._soonest = None

    def due(self, now: float) -> list[Resend]:
        """Resends whose wait ran out; the last try's watch ends with it."""
        soonest = self.next_deadline()
        if soonest is None or now < soonest:
            return []
        out = []
        for slot, held in list(self._watching.items()):
            if now < held.due:
                continue
            if held.tries_left:
                held.tries_left -= 1
                held.due = float("inf")  # until the repeat leaves
                out.append(held.resend)
            else:
                del self._watching[slot]
        self._soonest = None
        return out

    def next_deadline(self) -> float | None:
        if not self._watching:
            return None
        if self._soonest is None:
            self._soonest = min(w.due for w in self._watching.values())
        return None if self._soonest == float("inf") else self._soonest
