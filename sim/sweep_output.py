"""A sweep's rows as one CSV table and one plot (a metric against one parameter).

The plot shows, for each value of the parameter, the mean over seeds with whiskers from
the smallest to the largest seed's value: with a handful of seeds the spread is what an
engineer needs to see, and min-max claims nothing about a distribution. Figures are
``matplotlib.figure.Figure`` with their own Agg canvas (no pyplot, no global state).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tacmesh.sim.sweep_headline import METRICS

Rows = Sequence[Mapping[str, object]]
NOT_PARAMETERS = frozenset({*METRICS, "seed", "error"})


def columns(rows: Rows) -> list[str]:
    """Every key of every row, in first-seen order, ``error`` last."""
    seen = dict.fromkeys(key for row in rows for key in row)
    return [key for key in seen if key != "error"] + (["error"] if "error" in seen else [])


def cell(value: object) -> str:
    """A CSV cell: empty for None, ``true``/``false`` (as ``--param`` reads them), numbers
    as Python writes them (floats round-trip exactly)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_table(rows: Rows, path_csv: str | Path) -> Path:
    """All rows in one CSV file with a header; a row without a column gets an empty cell."""
    path = Path(path_csv)
    names = columns(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([cell(row.get(name)) for name in names] for row in rows)
    return path


def parameters(rows: Rows, x: str, y: str) -> list[str]:
    """The grid parameters other than ``x``: every column that is not a headline metric,
    the seed, the error or ``y``."""
    return [c for c in columns(rows) if c not in NOT_PARAMETERS and c not in (x, y)]


def plot_sweep(
    rows: Rows, x: str, y: str, path_png: str | Path, *, group_by: Sequence[str] | None = None
) -> Path:
    """``y`` against ``x``: mean over seeds with min-max whiskers, one line per combination
    of the other parameters (``group_by``, default :func:`parameters`). Rows without a
    number for ``y`` (failed runs, no SOS sent) are left out."""
    groups = list(group_by) if group_by is not None else parameters(rows, x, y)
    usable = [row for row in rows if _number(row.get(y)) is not None and x in row]
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(f"{y} against {x} (mean over seeds, whiskers min to max)", fontsize=10)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if not usable:
        ax.text(0.5, 0.5, f"no run has a value of {y}", transform=ax.transAxes, ha="center")
    else:
        _draw(ax, usable, x, y, groups)
    path = Path(path_png)
    fig.savefig(path, dpi=120)
    return path


def _draw(ax: Axes, rows: Rows, x: str, y: str, groups: Sequence[str]) -> None:
    xs = list(dict.fromkeys(row[x] for row in rows))
    # numbers go where they are on the axis; anything else evenly spaced in first-seen order
    categorical = any(_number(v) is None for v in xs)
    at = {v: float(i) if categorical else _number(v) or 0.0 for i, v in enumerate(xs)}
    lines: dict[tuple[object, ...], list[Mapping[str, object]]] = {}
    for row in rows:
        lines.setdefault(tuple(row.get(g) for g in groups), []).append(row)
    for key, members in lines.items():
        stats = _summarise(members, x, y, at)  # columns: x, mean, min, max
        whiskers = [stats[:, 1] - stats[:, 2], stats[:, 3] - stats[:, 1]]
        label = ", ".join(f"{g}={cell(v)}" for g, v in zip(groups, key, strict=True))
        ax.errorbar(stats[:, 0], stats[:, 1], yerr=whiskers, marker="o", capsize=3,
                    label=label or None)  # fmt: skip
    if categorical:
        ax.set_xticks(range(len(xs)), [cell(v) for v in xs])
    if groups:
        ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)


def _summarise(
    rows: Iterable[Mapping[str, object]], x: str, y: str, at: Mapping[object, float]
) -> npt.NDArray[np.float64]:
    """One row (x position, mean, min, max) of ``y`` per value of ``x``, in x order."""
    by_x: dict[float, list[float]] = {}
    for row in rows:
        by_x.setdefault(at[row[x]], []).append(_number(row[y]) or 0.0)  # rows have numbers
    stats = [(where, sum(v) / len(v), min(v), max(v)) for where, v in sorted(by_x.items())]
    return np.array(stats, dtype=np.float64).reshape(-1, 4)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
