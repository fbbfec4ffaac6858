"""What every report plot shares: Agg figures, the time axis and the failure marks.

Figures are ``matplotlib.figure.Figure`` objects with their own Agg canvas: no pyplot,
so no global state, no display needed, and plots can be made from worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tacmesh.sim.report.data import FailureMark

DPI: Final = 120
FAILURE_COLOUR: Final = "tab:red"
EVENT_COLOUR: Final = "tab:green"


def new_figure(
    rows: int = 1, *, height: float = 3.2, width: float = 9.0
) -> tuple[Figure, list[Axes]]:
    """``rows`` stacked axes sharing the x axis, on a fresh figure with an Agg canvas."""
    fig = Figure(figsize=(width, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)
    return fig, [ax for (ax,) in axes]


def save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


@dataclass(frozen=True, slots=True)
class TimeUnit:
    """How the time axis is shown: seconds, minutes or hours, whichever reads best, up
    to ``end_s`` (the end of the run)."""

    divisor: float
    name: str
    end_s: float

    @property
    def label(self) -> str:
        return f"time since start ({self.name})"


def time_unit(end_s: float) -> TimeUnit:
    """Minutes past two minutes, hours past two hours: a one-hour run reads 0..60 min."""
    if end_s >= 7200:
        return TimeUnit(3600.0, "h", end_s)
    if end_s >= 120:
        return TimeUnit(60.0, "min", end_s)
    return TimeUnit(1.0, "s", end_s)


def mark_failures(
    ax: Axes, marks: Sequence[FailureMark], unit: TimeUnit, *, labelled: bool = True
) -> None:
    """A dashed vertical line per failure (dotted green for a planned event); with
    ``labelled``, its label beside it."""
    for mark in marks:
        x = mark.at_s / unit.divisor
        colour = EVENT_COLOUR if mark.planned else FAILURE_COLOUR
        style = ":" if mark.planned else "--"
        ax.axvline(x, color=colour, linestyle=style, linewidth=1.0, alpha=0.8)
        if labelled:
            # x in data units, y in axes units: the label stays at the top whatever the scale
            ax.text(
                x,
                0.98,
                f" {mark.label}",
                transform=ax.get_xaxis_transform(),
                rotation=90,
                va="top",
                ha="right",
                fontsize=8,
                color=colour,
            )


def no_data(ax: Axes, what: str) -> None:
    """Say on the plot why it is empty, instead of leaving blank axes."""
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")
