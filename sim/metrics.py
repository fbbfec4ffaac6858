"""What a simulated operation measured: deliveries, latencies, failovers, queues.

A message counts once per member meant to get it (a team message to ten members is ten
deliveries owed); a copy that arrives twice counts once. A message is owed only to nodes
alive when it was sent. Latency is from the application's send to the first delivery.
Results follow the schema in ``sim/report/RESULTS.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))


@dataclass(slots=True)
class Message:
    kind: str
    team: str | None
    sent_at: float
    owed: set[int]
    """Addresses still waiting for it."""
    latencies: list[float] = field(default_factory=list)
    expected: int = 0


class Ledger:
    def __init__(self) -> None:
        self.messages: dict[tuple[int, int], Message] = {}

    def sent(self, at: float, key: tuple[int, int], kind: str, team: str | None,
             owed: set[int]) -> None:  # fmt: skip
        """Message ``key`` = (source, msg_id) was sent, owed to the addresses ``owed``."""
        self.messages[key] = Message(kind, team, at, set(owed), expected=len(owed))

    def delivered(self, at: float, node: int, source: int, msg_id: int) -> None:
        m = self.messages.get((source, msg_id))
        if m is not None and node in m.owed:
            m.owed.discard(node)
            m.latencies.append(at - m.sent_at)

    def summary(self, select: str | None = None, value: str | None = None) -> dict[str, object]:
        picked = [m for m in self.messages.values() if _match(m, select, value)]
        return block(picked)

    def by(self, what: str) -> dict[str, dict[str, object]]:
        keys = sorted(
            {(m.kind if what == "kind" else m.team) or "" for m in self.messages.values()}
        )
        return {k: self.summary(what, k) for k in keys if k}

    def series(self, bin_s: float, duration_s: float) -> list[dict[str, float | None]]:
        bins = max(1, math.ceil(duration_s / bin_s))
        rows: list[list[Message]] = [[] for _ in range(bins)]
        for m in self.messages.values():
            rows[min(bins - 1, int(m.sent_at // bin_s))].append(m)
        out = []
        for i, ms in enumerate(rows):
            b = block(ms)
            lat = b["latency_s"]
            assert isinstance(lat, dict)
            out.append({
                "t_s": i * bin_s, "sent": b["sent"], "delivered": b["delivered"],
                "delivery_ratio": b["ratio"], "latency_p50_s": lat["p50"],
                "latency_p90_s": lat["p90"],
            })  # fmt: skip
        return out


def _match(m: Message, select: str | None, value: str | None) -> bool:
    if select == "kind":
        return m.kind == value
    if select == "team":
        return m.team == value
    return True


def block(messages: list[Message]) -> dict[str, object]:
    owed = sum(m.expected for m in messages)
    latencies = sorted(x for m in messages for x in m.latencies)
    return {
        "sent": owed,
        "delivered": len(latencies),
        "ratio": None if owed == 0 else len(latencies) / owed,
        "latency_s": {
            **{name: percentile(latencies, q) for name, q in PERCENTILES},
            "max": latencies[-1] if latencies else None,
        },
    }


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
