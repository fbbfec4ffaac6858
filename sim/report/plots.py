"""The report's PNG plots of a run directory (``write_plots``).

``delivery.png``, ``latency.png`` and ``queues.png`` always exist (saying "no data" when the
series is empty, so the page never has a broken image); ``topology-<t>.png`` when there
are snapshots and ``overhead.png`` when ``results.json`` has overhead. Each time plot marks
the failures, so a dip can be read against its cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import EngFormatter

from tacmesh.sim.report.data import (
    SERIES_FILE,
    TOPOLOGY_FILE,
    FailureMark,
    FloatArray,
    Results,
    Series,
    event_marks,
    failure_marks,
    load_results,
    number,
    read_series,
    read_snapshots,
    run_file,
    section,
)
from tacmesh.sim.report.figure import TimeUnit, mark_failures, new_figure, no_data, save, time_unit
from tacmesh.sim.report.topology import write_topology_plots

__all__ = [
    "FailureMark",
    "Series",
    "event_marks",
    "failure_marks",
    "plot_delivery",
    "plot_latency",
    "plot_overhead",
    "plot_queues",
    "read_series",
    "use_log_scale",
    "write_plots",
]

LOG_SPAN: Final = 30.0
"""Latency is drawn on a log scale when its largest value is this many times its smallest:
a LoRa path at 0.1 s and a store-and-forward one at 300 s then both stay readable."""


def write_plots(run_dir: Path) -> list[Path]:
    """Write every plot of the run in ``run_dir`` next to its data; the paths written."""
    results = load_results(run_dir)
    series = read_series(run_file(run_dir, results, "series", SERIES_FILE))
    marks = failure_marks(results)
    # the time plots show planned events too (a gap that ends when a relief takes off)
    timeline = sorted([*marks, *event_marks(results)], key=lambda m: m.at_s)
    end_s = _end_s(series, timeline, results)
    written = [
        plot_delivery(series, timeline, end_s, run_dir / "delivery.png"),
        plot_latency(series, timeline, end_s, run_dir / "latency.png"),
        plot_queues(series, timeline, end_s, run_dir / "queues.png"),
    ]
    snapshots = read_snapshots(run_file(run_dir, results, "topology", TOPOLOGY_FILE))
    written += write_topology_plots(snapshots, marks, run_dir)
    overhead = section(results, "overhead")
    if overhead:
        written.append(plot_overhead(overhead, run_dir / "overhead.png"))
    return written


def _end_s(series: Series, marks: Sequence[FailureMark], results: Results) -> float:
    """The last time shown: the scenario's end, the series' end or the last failure."""
    duration = number(section(results, "scenario").get("duration_s")) or 0.0
    ends = [duration]
    ends += [float(series.bin_edges(duration or None)[-1])] if len(series) else []
    ends += [m.at_s for m in marks]
    return max(ends)


def _time_axes(axes: Sequence[Axes], marks: Sequence[FailureMark], end_s: float) -> TimeUnit:
    unit = time_unit(end_s)
    for i, ax in enumerate(axes):
        mark_failures(ax, marks, unit, labelled=i == 0)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel(unit.label)
    if end_s > 0:
        axes[-1].set_xlim(0.0, end_s / unit.divisor)
    return unit


def _stairs(ax: Axes, series: Series, column: str, unit: TimeUnit, label: str) -> None:
    edges = series.bin_edges(unit.end_s) / unit.divisor
    ax.stairs(series[column], edges, baseline=None, label=label)


def plot_delivery(series: Series, marks: Sequence[FailureMark], end_s: float, path: Path) -> Path:
    """Delivery ratio per time bin above the deliveries owed and made in each bin. Bins
    hold the messages *sent* in them, however late they arrived (RESULTS.md)."""
    fig, (ratio, counts) = new_figure(2)
    unit = _time_axes((ratio, counts), marks, end_s)
    fig.suptitle("Delivery of the messages sent in each time bin")
    ratio.set_ylabel("delivery ratio")
    ratio.set_ylim(0.0, 1.05)
    counts.set_ylabel("deliveries per bin")
    if len(series) == 0:
        no_data(ratio, "no data in series.csv")
        return save(fig, path)
    _stairs(ratio, series, "delivery_ratio", unit, "delivered / sent")
    edges = series.bin_edges(unit.end_s) / unit.divisor
    widths = np.diff(edges)
    counts.bar(edges[:-1], series["sent"], widths, align="edge", color="0.75", label="owed (sent)")
    counts.bar(
        edges[:-1], series["delivered"], widths, align="edge", color="tab:blue", label="delivered"
    )
    counts.legend(loc="upper right", fontsize=8)
    return save(fig, path)


def use_log_scale(*columns: FloatArray) -> bool:
    """Whether the positive values span more than ``LOG_SPAN`` times."""
    values = np.concatenate([c[np.isfinite(c) & (c > 0)] for c in columns] or [np.zeros(0)])
    return len(values) > 0 and float(values.max()) > LOG_SPAN * float(values.min())


def plot_latency(series: Series, marks: Sequence[FailureMark], end_s: float, path: Path) -> Path:
    """End-to-end latency p50 and p90 of the messages sent in each bin."""
    fig, (ax,) = new_figure(1, height=4.0)
    unit = _time_axes((ax,), marks, end_s)
    ax.set_title("Delivery latency of the messages sent in each time bin")
    ax.set_ylabel("latency (s)")
    p50, p90 = series["latency_p50_s"], series["latency_p90_s"]
    if not (np.isfinite(p50).any() or np.isfinite(p90).any()):
        no_data(ax, "no message delivered" if len(series) else "no data in series.csv")
        return save(fig, path)
    _stairs(ax, series, "latency_p50_s", unit, "p50")
    _stairs(ax, series, "latency_p90_s", unit, "p90")
    if use_log_scale(p50, p90):
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0.0)
    ax.legend(loc="upper right", fontsize=8)
    return save(fig, path)


def plot_queues(series: Series, marks: Sequence[FailureMark], end_s: float, path: Path) -> Path:
    """Queued frames (all nodes, and the fullest node) above links up and nodes alive."""
    fig, (queues, network) = new_figure(2)
    unit = _time_axes((queues, network), marks, end_s)
    fig.suptitle("Queues and network state")
    queues.set_ylabel("queued frames")
    network.set_ylabel("count")
    if len(series) == 0:
        no_data(queues, "no data in series.csv")
        return save(fig, path)
    _stairs(queues, series, "queue_depth_total", unit, "total (all nodes)")
    _stairs(queues, series, "queue_depth_max", unit, "largest node queue")
    _stairs(network, series, "links_up", unit, "links up")
    _stairs(network, series, "nodes_alive", unit, "nodes alive")
    for ax in (queues, network):
        ax.set_ylim(bottom=0.0)
        ax.legend(loc="upper right", fontsize=8)
    return save(fig, path)


def _number(data: Mapping[str, Any], key: str) -> float:
    return number(data.get(key)) or 0.0


def plot_overhead(overhead: Mapping[str, Any], path: Path) -> Path:
    """Control and data bytes, and airtime, per radio profile as stacked bars."""
    profiles = sorted(overhead)
    rows = [section(overhead, p) for p in profiles]
    fig, (volume, airtime) = new_figure(2, width=max(6.0, 1.6 * len(profiles) + 3.0))
    fig.suptitle("Control overhead by radio profile")
    x = np.arange(len(profiles))
    if not profiles:
        no_data(volume, "no overhead in results.json")
        return save(fig, path)
    for ax, unit, ylabel in ((volume, "bytes", "B"), (airtime, "airtime_s", "s")):
        control = np.array([_number(r, f"control_{unit}") for r in rows])
        data = np.array([_number(r, f"data_{unit}") for r in rows])
        ax.bar(x, control, 0.6, color="tab:orange", label="control")
        ax.bar(x, data, 0.6, bottom=control, color="tab:blue", label="data")
        ax.yaxis.set_major_formatter(EngFormatter(unit=ylabel))
        ax.set_ylabel("bytes sent" if unit == "bytes" else "airtime")
        ax.set_ylim(0.0, max(float((control + data).max()), 1e-9) * 1.2)  # room for the shares
        ax.grid(True, axis="y", alpha=0.3)
        # computed here from the two fields, so each panel shows the share of its own unit
        for i, (c, d) in enumerate(zip(control, data, strict=True)):
            if c + d > 0:
                ax.annotate(
                    f"control {100 * c / (c + d):.0f} %",
                    (float(x[i]), float(c + d)),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
    fig.legend(*volume.get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    airtime.set_xticks(x, profiles)
    airtime.set_xlabel("radio profile")
    return save(fig, path)
