"""Reading one [[traffic]] table into ``model.TrafficSpec`` (``from`` becomes ``sources``).

Rules: a flow is periodic (``every_s``, optionally within ``start_s``..``stop_s``) or one
message (``at_s``), never both nor neither; times lie within the run; a bulk transfer has
a size. Names in ``from``/``to`` are resolved later, against all nodes (checks.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from tacmesh.sim.scenario.fields import TRAFFIC_KEYS, TRAFFIC_KINDS
from tacmesh.sim.scenario.model import TrafficKind, TrafficSpec
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.reader import Table, present
from tacmesh.sim.scenario.words import Raw, where_of


def read_traffic(
    raw: Raw, index: int, duration: float | None, problems: Problems
) -> TrafficSpec | None:
    t = Table(raw, ("traffic", index), where_of("traffic", index, raw), problems)
    t.check_keys(TRAFFIC_KEYS)
    kind = t.choice("kind", TRAFFIC_KINDS, required=True)
    sources = t.text("from", required=True)
    to = t.text("to")
    every = t.number("every_s", above=0)
    at = t.number("at_s", low=0, high=duration, bound="duration_s")
    start = t.number("start_s", low=0, high=duration, bound="duration_s")
    stop = t.number("stop_s", above=start or 0.0, high=duration, bound="duration_s")
    size = t.integer("size_bytes", low=0)
    _check_timing(t)
    if kind == "bulk" and not t.raw.get("size_bytes"):
        t.problem(None, "a bulk transfer needs size_bytes", "add size_bytes = 2000 (bytes)")
    if not t.ok or kind is None or sources is None:
        return None
    spec = TrafficSpec(kind=cast(TrafficKind, kind), sources=sources, line=t.line)
    given = {
        "to": to,
        "every_s": every,
        "at_s": at,
        "start_s": start,
        "stop_s": stop,
        "size_bytes": size,
    }
    return replace(spec, **present(given))


def _check_timing(t: Table) -> None:
    periodic, once = t.has("every_s"), t.has("at_s")
    if periodic and once:
        t.problem(
            "at_s",
            "both every_s and at_s are given",
            "keep every_s for a periodic flow or at_s for one message",
        )
    elif not periodic and not once:
        t.problem(None, "no every_s or at_s", "add every_s = 30 (periodic) or at_s = 600 (once)")
    elif once:
        for key in ("start_s", "stop_s"):
            if t.has(key):
                t.problem(key, f"{key} applies to periodic flows only", f"remove {key}")
