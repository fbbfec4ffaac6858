"""tacmesh.sim.report: what engineers read after a simulated operation.

From a run directory (``results.json``, ``series.csv``, ``topology.json``; see RESULTS.md):
``plots.write_plots`` (PNGs), ``html.write_html`` (``report.html``) and ``summary`` (the
terminal table and plain-text lines). The modules are imported on use: matplotlib takes a
moment to load, and the terminal summary does not need it.
"""

from __future__ import annotations

from pathlib import Path


def write_report(run_dir: Path) -> list[Path]:
    """Every plot, then ``report.html`` showing them; the paths written, page last."""
    from tacmesh.sim.report.html import write_html
    from tacmesh.sim.report.plots import write_plots

    written = write_plots(run_dir)
    return [*written, write_html(run_dir, written)]
