"""``report.html``: one static page per run, for reading and for attaching to a ticket.

Everything is on the page except the images, which are the PNGs beside it (relative
links, so the run directory can be copied or zipped as it is). Every string that comes
from the data is escaped: scenario and node names are written by people.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final
from urllib.parse import quote

from tacmesh.sim.report.data import (
    NO_VALUE,
    RESULTS_FILE,
    SERIES_FILE,
    TOPOLOGY_FILE,
    Results,
    delivery_cells,
    failover_text,
    fmt_count,
    fmt_ratio,
    fmt_seconds,
    load_results,
    ordered_classes,
    planned_text,
    section,
)

REPORT_FILE: Final = "report.html"
PLOT_ORDER: Final = ("delivery", "latency", "queues", "topology", "overhead")
CAPTIONS: Final = {
    "delivery": "Delivery ratio, and deliveries owed and made, of the messages sent in each bin",
    "latency": "Delivery latency (p50, p90) of the messages sent in each bin",
    "queues": "Queued frames, links up and nodes alive",
    "topology": "Topology snapshot",
    "overhead": "Control and data traffic by radio profile",
}
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #ddd; }
"""
DELIVERY_HEADERS: Final = ("", "sent", "delivered", "ratio", "p50", "p90", "p99", "max")


def write_html(run_dir: Path, images: Sequence[Path] | None = None) -> Path:
    """Write ``report.html`` in ``run_dir``. ``images`` are the plots to show (default:
    the report's PNGs found in ``run_dir``)."""
    results = load_results(run_dir)
    shown = _find_images(run_dir) if images is None else list(images)
    path = run_dir / REPORT_FILE
    path.write_text(render_html(results, [p.name for p in shown]), encoding="utf-8")
    return path


def _find_images(run_dir: Path) -> list[Path]:
    found = []
    for stem in PLOT_ORDER:
        found += sorted(run_dir.glob(f"{stem}*.png"), key=_topology_time)
    return found


def _topology_time(path: Path) -> float:
    _, _, t = path.stem.partition("-")
    try:
        return float(t)
    except ValueError:
        return 0.0


def render_html(results: Results, images: Sequence[str]) -> str:
    """The page for ``results``, with ``images`` (file names beside it) in that order."""
    name = str(section(results, "scenario").get("name") or "tacmesh simulation")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(name)}: tacmesh simulation report</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(name)}</h1>",
        _scenario(results),
        _delivery(results),
        _sos(results),
        _failures(results),
        _drops(results),
        _overhead(results),
        _plots(images),
        _files(results),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(
    headers: Sequence[str] | None, rows: Iterable[Sequence[str]], numeric_from: int = 1
) -> str:
    """A table of already formatted cells (escaped here); columns from ``numeric_from`` on
    are right-aligned numbers."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers or ())
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(c)}</td>' if i >= numeric_from else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    head = f"<tr>{head}</tr>" if head else ""
    return f"<table>{head}{''.join(body)}</table>"


_CORES = {"compiled": "compiled (mypyc)", "pure": "pure Python"}
"""results.json run.core, as the report says it."""


def _scenario(results: Results) -> str:
    scenario, run = section(results, "scenario"), section(results, "run")
    teams = scenario.get("teams") or []
    rows = [
        ("scenario file", str(scenario.get("source") or NO_VALUE)),
        ("seed", fmt_count(scenario.get("seed"))),
        ("duration", fmt_seconds(scenario.get("duration_s"))),
        ("nodes", fmt_count(scenario.get("nodes"))),
        ("teams", ", ".join(str(t) for t in teams) or NO_VALUE),
        ("events simulated", fmt_count(run.get("events"))),
        (
            "frames sent / received",
            f"{fmt_count(run.get('frames_sent'))} / {fmt_count(run.get('frames_received'))}",
        ),
        ("collisions", fmt_count(run.get("collisions"))),
        ("wall time", fmt_seconds(run.get("wall_s"))),
        ("faster than real time", _times(run.get("realtime_factor"))),
        ("engines", _CORES.get(str(run.get("core")), NO_VALUE)),
    ]
    return "<h2>Scenario and run</h2>" + _table(None, rows, numeric_from=2)


def _times(value: object) -> str:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return f"{value:,.1f} ×" if ok else NO_VALUE


def _delivery(results: Results) -> str:
    delivery = section(results, "delivery")
    by_class, by_team = section(delivery, "by_class"), section(delivery, "by_team")
    rows = [delivery_cells(c, section(by_class, c)) for c in ordered_classes(by_class)]
    rows.append(delivery_cells("all messages", section(delivery, "overall")))
    parts = ["<h2>Delivery</h2>", "<h3>By traffic class</h3>", _table(DELIVERY_HEADERS, rows)]
    if by_team:
        teams = [delivery_cells(t, section(by_team, t)) for t in sorted(by_team)]
        parts += ["<h3>By team</h3>", _table(("team", *DELIVERY_HEADERS[1:]), teams)]
    return "\n".join(parts)


def _sos(results: Results) -> str:
    sos = section(results, "sos")
    if not sos:
        return "<h2>SOS</h2><p>No SOS in this run.</p>"
    return "<h2>SOS</h2>" + _table(DELIVERY_HEADERS, [delivery_cells("SOS", sos)])


def _failures(results: Results) -> str:
    failures = [f for f in results.get("failures") or [] if isinstance(f, Mapping)]
    planned = planned_text(results)
    after = f"<p>{html.escape(planned.capitalize())}.</p>" if planned else ""
    if not failures:
        return "<h2>Failures</h2><p>No failure was injected.</p>" + after
    headers = ("at", "kind", "target", "flows affected", "recovered", "failover")
    rows = [
        (
            fmt_seconds(f.get("at_s")),
            str(f.get("kind") or NO_VALUE),
            str(f.get("target") or NO_VALUE),
            fmt_count(f.get("affected_flows")),
            fmt_count(f.get("recovered_flows")),
            failover_text(f),
        )
        for f in failures
    ]
    return "<h2>Failures</h2>" + _table(headers, rows, numeric_from=3) + after


def _drops(results: Results) -> str:
    drops = section(results, "drops")
    if not drops:
        return ""
    rows = [(reason.replace("_", " "), fmt_count(n)) for reason, n in drops.items()]
    total = sum(n for n in drops.values() if isinstance(n, int | float))
    rows.append(("total", fmt_count(total)))
    return "<h2>Frames dropped</h2>" + _table(("reason", "frames"), rows)


def _overhead(results: Results) -> str:
    overhead = section(results, "overhead")
    if not overhead:
        return ""
    headers = ("profile", "control", "data", "control airtime", "data airtime", "control share")
    rows = [
        (
            profile,
            f"{fmt_count(o.get('control_bytes'))} B",
            f"{fmt_count(o.get('data_bytes'))} B",
            fmt_seconds(o.get("control_airtime_s")),
            fmt_seconds(o.get("data_airtime_s")),
            fmt_ratio(o.get("control_share")),
        )
        for profile, o in ((p, section(overhead, p)) for p in sorted(overhead))
    ]
    return "<h2>Protocol overhead</h2>" + _table(headers, rows)


def _plots(images: Sequence[str]) -> str:
    if not images:
        return ""
    figures = []
    for name in images:
        kind, _, rest = name.removesuffix(".png").partition("-")
        caption = CAPTIONS.get(kind, name)
        caption += f" at t = {rest} s" if kind == "topology" and rest else ""
        figures.append(
            f'<figure><img src="{_e(quote(name))}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    return "<h2>Plots</h2>\n" + "\n".join(figures)


def _files(results: Results) -> str:
    files = section(results, "files")
    pcaps = files.get("pcap") or []
    names = [
        RESULTS_FILE,
        str(files.get("series") or SERIES_FILE),
        str(files.get("topology") or TOPOLOGY_FILE),
        *(str(p) for p in (pcaps if isinstance(pcaps, list) else [pcaps])),
    ]
    items = "".join(f'<li><a href="{_e(quote(n))}">{_e(n)}</a></li>' for n in names)
    note = "<p>Captures open in Wireshark, tshark or <code>tacmesh protocol dissect</code>.</p>"
    return f"<h2>Files</h2><ul>{items}</ul>" + (note if pcaps else "")
