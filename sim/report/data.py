"""Reading a run directory for the report, and the value formats every view shares.

The simulator writes ``results.json``, ``series.csv`` and ``topology.json`` (RESULTS.md
describes them). Every optional part may be missing or null, and a report is still wanted
then (a run that delivered nothing is the one most worth reading), so the readers here
return empty values instead of raising; only an unknown schema is an error.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

SCHEMA: Final = 1
RESULTS_FILE: Final = "results.json"
SERIES_FILE: Final = "series.csv"
TOPOLOGY_FILE: Final = "topology.json"
SERIES_COLUMNS: Final = (
    "t_s",
    "sent",
    "delivered",
    "delivery_ratio",
    "latency_p50_s",
    "latency_p90_s",
    "queue_depth_total",
    "queue_depth_max",
    "links_up",
    "nodes_alive",
)
CLASS_ORDER: Final = ("sos", "order", "vitals", "status", "position", "text", "bulk")
"""Traffic classes, most urgent first (the protocol's priority order)."""
NO_VALUE: Final = "—"

Results = dict[str, Any]
FloatArray = npt.NDArray[np.float64]


def load_results(run_dir: Path) -> Results:
    """``results.json`` of ``run_dir``; ValueError if it is not schema 1."""
    results = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
    if not isinstance(results, dict) or results.get("schema") != SCHEMA:
        raise ValueError(f"{run_dir / RESULTS_FILE}: not a schema {SCHEMA} results file")
    return results


def section(data: Mapping[str, Any] | None, *keys: str) -> dict[str, Any]:
    """``data[k1][k2]...``, or ``{}`` where a part is missing or null."""
    found: Any = data
    for key in keys:
        found = found.get(key) if isinstance(found, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Series:
    """The columns of ``series.csv`` as float arrays; NaN where a cell is empty."""

    columns: dict[str, FloatArray]

    def __len__(self) -> int:
        return len(self.columns.get("t_s", ()))

    def __getitem__(self, name: str) -> FloatArray:
        """A column; all NaN if the file does not have it (an older or partial writer)."""
        found = self.columns.get(name)
        return np.full(len(self), np.nan) if found is None else found

    @property
    def t_s(self) -> FloatArray:
        return self["t_s"]

    def bin_edges(self, end_s: float | None = None) -> FloatArray:
        """Edges of the time bins (one more than the rows): ``t_s`` is each bin's start.
        The last bin is as wide as the others, or ends at ``end_s`` (the scenario's end)
        when that comes sooner: the simulator's last bin may be a short one."""
        t = self.t_s
        if len(t) == 0:
            return np.zeros(0)
        width = float(np.median(np.diff(t))) if len(t) > 1 else math.inf
        end = float(t[-1]) + width
        if end_s is not None and float(t[-1]) < end_s < end:
            end = end_s
        return np.append(t, end if math.isfinite(end) else float(t[-1]) + 1.0)


def _cell(text: str | None) -> float:
    text = (text or "").strip()
    return float(text) if text else math.nan


def read_series(path: Path) -> Series:
    """Parse ``series.csv``; an absent or header-only file gives an empty series."""
    if not path.is_file():
        return Series({name: np.zeros(0) for name in SERIES_COLUMNS})
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        names = list(reader.fieldnames or SERIES_COLUMNS)
    return Series({n: np.array([_cell(r.get(n)) for r in rows], dtype=np.float64) for n in names})


def run_file(run_dir: Path, results: Results, key: str, default: str) -> Path:
    """A file named in ``results["files"]``, relative to the run directory."""
    name = section(results, "files").get(key) or default
    return run_dir / str(name)


def read_snapshots(path: Path) -> list[dict[str, Any]]:
    """The snapshots of ``topology.json`` in time order; none if the file is absent."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    snapshots = data.get("snapshots") if isinstance(data, dict) else None
    found = [s for s in snapshots or [] if isinstance(s, dict)]
    return sorted(found, key=lambda s: float(s.get("t_s") or 0.0))


@dataclass(frozen=True, slots=True)
class FailureMark:
    """A failure to mark on the time plots: when, and ``kind target`` as its label."""

    at_s: float
    label: str
    planned: bool = False
    """A planned event (a relief UAV taking off), drawn apart from the failures."""


EVENT_WORDS: Final = {"takeoff": "takes off"}
"""How a planned event reads on a plot: ``uav-2 takes off``."""


def event_marks(results: Results) -> list[FailureMark]:
    """One mark per planned event of ``results["events"]``, in time order."""
    marks = []
    for event in results.get("events") or []:
        if not isinstance(event, Mapping) or number(event.get("at_s")) is None:
            continue
        kind = str(event.get("kind") or "event")
        label = f"{event.get('target') or ''} {EVENT_WORDS.get(kind, kind)}".strip()
        marks.append(FailureMark(float(event["at_s"]), label, planned=True))
    return sorted(marks, key=lambda m: m.at_s)


def failure_marks(results: Results) -> list[FailureMark]:
    """One mark per failure with a time, in time order."""
    marks = []
    for failure in results.get("failures") or []:
        if not isinstance(failure, Mapping) or failure.get("at_s") is None:
            continue
        words = (failure.get("kind"), failure.get("target"))
        label = " ".join(str(w) for w in words if w) or "failure"
        marks.append(FailureMark(float(failure["at_s"]), label))
    return sorted(marks, key=lambda m: m.at_s)


def ordered_classes(by_class: Mapping[str, Any]) -> list[str]:
    """Class names in priority order; names this code does not know come last, sorted."""
    known = [c for c in CLASS_ORDER if c in by_class]
    return known + sorted(c for c in by_class if c not in CLASS_ORDER)


# --- formats shared by the terminal summary and the HTML page ----------------------------


def number(value: object) -> float | None:
    """``value`` as a finite float; None for null, NaN, infinities, booleans and text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def fmt_count(value: object) -> str:
    found = number(value)
    return NO_VALUE if found is None else f"{found:,.0f}"


def fmt_ratio(value: object) -> str:
    """A ratio 0..1 as a percentage with one decimal."""
    found = number(value)
    return NO_VALUE if found is None else f"{100 * found:.1f} %"


def fmt_seconds(value: object) -> str:
    """Seconds with three significant digits: ``0.2 s``, ``3.05 s``, ``412 s``."""
    found = number(value)
    if found is None:
        return NO_VALUE
    return f"{found:.3g} s" if abs(found) < 999.5 else f"{found:,.0f} s"


def planned_text(results: Results) -> str | None:
    """The planned events in one line (``planned: uav-2 takes off at 1,380 s``), or None."""
    marks = event_marks(results)
    if not marks:
        return None
    return "planned: " + ", ".join(f"{m.label} at {fmt_seconds(m.at_s)}" for m in marks)


def delivery_cells(name: str, stats: Mapping[str, Any]) -> list[str]:
    """One delivery row: name, sent, delivered, ratio and latency percentiles."""
    latency = section(stats, "latency_s")
    return [
        name,
        fmt_count(stats.get("sent")),
        fmt_count(stats.get("delivered")),
        fmt_ratio(stats.get("ratio")),
        *(fmt_seconds(latency.get(k)) for k in ("p50", "p90", "p99", "max")),
    ]


def failover_text(failure: Mapping[str, Any]) -> str:
    """The failover time; ``not recovered`` when the flows never came back, ``no flow
    crossed it`` when none was affected (nothing had to fail over)."""
    value = failure.get("failover_s")
    if value is not None:
        return fmt_seconds(value)
    return "no flow crossed it" if failure.get("affected_flows") == 0 else "not recovered"
