"""The headline figures of one run, flattened from its results dict into a sweep row.

Each figure is a number or None: a run that sent no SOS has no SOS ratio, a run without
failures has no failover, and that is different from zero. The results dict is read
defensively (RESULTS.md: every optional part may be missing or null).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

METRICS = (
    "delivery_ratio",
    "latency_p50_s",
    "latency_p90_s",
    "sos_ratio",
    "sos_latency_p90_s",
    "worst_failover_s",
    "recovered_share",
    "control_share",
    "frames_sent",
    "wall_s",
)
"""Columns ``run_point`` adds to a point's parameters, in table order."""


def headline(results: Mapping[str, Any], wall_s: float) -> dict[str, object]:
    """The figures of ``METRICS`` from one run's results; ``wall_s`` as measured by the caller."""
    failures = [f for f in results.get("failures") or [] if isinstance(f, Mapping)]
    return {
        "delivery_ratio": _number(results, "delivery", "overall", "ratio"),
        "latency_p50_s": _number(results, "delivery", "overall", "latency_s", "p50"),
        "latency_p90_s": _number(results, "delivery", "overall", "latency_s", "p90"),
        "sos_ratio": _number(results, "sos", "ratio"),
        "sos_latency_p90_s": _number(results, "sos", "latency_s", "p90"),
        "worst_failover_s": _max(_number(f, "failover_s") for f in failures),
        "recovered_share": _share(failures, "recovered_flows", "affected_flows"),
        "control_share": _control_share(results.get("overhead")),
        "frames_sent": _number(results, "run", "frames_sent"),
        "wall_s": wall_s,
    }


def _number(data: object, *keys: str) -> float | int | None:
    """``data[k1][k2]...`` if it is a finite number, else None."""
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    if isinstance(data, bool) or not isinstance(data, int | float):
        return None
    return data if math.isfinite(data) else None


def _max(values: Iterable[float | int | None]) -> float | int | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _share(items: Iterable[Mapping[str, Any]], part: str, whole: str) -> float | None:
    """sum(part) / sum(whole) over ``items``; None when the whole is zero."""
    listed = list(items)
    total = sum(_number(i, whole) or 0 for i in listed)
    return sum(_number(i, part) or 0 for i in listed) / total if total else None


def _control_share(overhead: object) -> float | None:
    """Control bytes over all bytes sent, summed over the radio profiles."""
    if not isinstance(overhead, Mapping):
        return None
    profiles = [p for p in overhead.values() if isinstance(p, Mapping)]
    control = sum(_number(p, "control_bytes") or 0 for p in profiles)
    data = sum(_number(p, "data_bytes") or 0 for p in profiles)
    return control / (control + data) if control + data else None
