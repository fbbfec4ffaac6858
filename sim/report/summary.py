"""The end-of-run summary in a terminal (rich) and as plain lines (logs, tests).

Both show the same cells, built once: delivery per traffic class (SOS first), SOS latency,
each failure with its failover time, and the dropped frames by reason. This module does
not import matplotlib, so a run that prints only the summary starts fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from rich.console import Console
from rich.table import Table

from tacmesh.sim.report.data import (
    NO_VALUE,
    Results,
    delivery_cells,
    failover_text,
    fmt_count,
    fmt_seconds,
    ordered_classes,
    planned_text,
    section,
)

CLASS_HEADERS: Final = ("class", "sent", "delivered", "ratio", "p50", "p90")
FAILURE_HEADERS: Final = ("at", "failure", "flows recovered", "failover")
OVERALL: Final = "all"


def class_rows(results: Results) -> list[list[str]]:
    """Per class (priority order) then all messages: the cells of ``CLASS_HEADERS``."""
    delivery = section(results, "delivery")
    by_class = section(delivery, "by_class")
    rows = [delivery_cells(c, section(by_class, c)) for c in ordered_classes(by_class)]
    rows.append(delivery_cells(OVERALL, section(delivery, "overall")))
    return [row[: len(CLASS_HEADERS)] for row in rows]


def failure_rows(results: Results) -> list[list[str]]:
    failures = [f for f in results.get("failures") or [] if isinstance(f, Mapping)]
    return [
        [
            fmt_seconds(f.get("at_s")),
            " ".join(str(w) for w in (f.get("kind"), f.get("target")) if w) or NO_VALUE,
            f"{fmt_count(f.get('recovered_flows'))} of {fmt_count(f.get('affected_flows'))}",
            failover_text(f),
        ]
        for f in failures
    ]


def headline(results: Results) -> str:
    scenario = section(results, "scenario")
    name = str(scenario.get("name") or "simulation")
    return (
        f"{name}: seed {fmt_count(scenario.get('seed'))}, "
        f"{fmt_seconds(scenario.get('duration_s'))} simulated, "
        f"{fmt_count(scenario.get('nodes'))} nodes"
    )


def sos_line(results: Results) -> str:
    sos = section(results, "sos")
    if not sos:
        return "SOS: none sent"
    _, sent, delivered, ratio, p50, p90, p99, worst = delivery_cells("sos", sos)
    return (
        f"SOS: {delivered} of {sent} delivered ({ratio}); "
        f"latency p50 {p50}, p90 {p90}, p99 {p99}, max {worst}"
    )


def drops_line(results: Results) -> str:
    drops = {reason: n for reason, n in section(results, "drops").items() if n}
    if not drops:
        return "drops: none"
    return "drops: " + ", ".join(f"{reason} {fmt_count(n)}" for reason, n in drops.items())


def summary_table(results: Results) -> Table:
    """Delivery per traffic class, with the total in the last row."""
    table = Table(title="Delivery by traffic class", title_justify="left")
    for i, header in enumerate(CLASS_HEADERS):
        table.add_column(header, justify="left" if i == 0 else "right")
    rows = class_rows(results)
    for i, row in enumerate(rows):
        last = i == len(rows) - 1
        style = "bold red" if row[0] == "sos" else ("bold" if last else None)
        table.add_row(*row, style=style, end_section=i == len(rows) - 2)
    return table


def failure_table(results: Results) -> Table:
    table = Table(title="Failures", title_justify="left")
    for i, header in enumerate(FAILURE_HEADERS):
        table.add_column(header, justify="left" if i == 1 else "right")
    for row in failure_rows(results):
        table.add_row(*row, style="red" if row[-1] == "not recovered" else None)
    return table


def print_summary(results: Results, console: Console) -> None:
    """What to read at the end of a run: headline, delivery, SOS, failures, drops."""
    console.print(headline(results), style="bold")
    console.print(summary_table(results))
    console.print(sos_line(results))
    if failure_rows(results):
        console.print(failure_table(results))
    planned = planned_text(results)
    if planned:
        console.print(planned, highlight=False)
    console.print(drops_line(results))
    unserved = results.get("unserved_radios") or []
    if unserved:
        console.print(unserved_line(unserved), style="yellow", highlight=False)


def unserved_line(radios: Sequence[str]) -> str:
    return (
        f"heard nobody: {', '.join(radios)}: on a point-to-multipoint profile such as air "
        "only relays (uav_relay, ground_backbone) are heard; add a relay on that channel "
        "or give these nodes a mesh profile (wifi-mesh)"
    )


def _aligned(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> list[str]:
    """Plain columns: column ``left`` (the names) left-aligned, the numbers right-aligned."""
    widths = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers))]
    lines = []
    for row in (headers, *rows):
        cells = zip(row, widths, strict=True)
        text = "  ".join(c.ljust(w) if i == left else c.rjust(w) for i, (c, w) in enumerate(cells))
        lines.append(text.rstrip())
    return lines


def summary_lines(results: Results) -> list[str]:
    """The summary as plain text, one line each (no colour, no box drawing)."""
    lines = [headline(results), *_aligned(CLASS_HEADERS, class_rows(results))]
    lines.append(sos_line(results))
    failures = failure_rows(results)
    if failures:
        lines += _aligned(FAILURE_HEADERS, failures, left=1)
    planned = planned_text(results)
    if planned:
        lines.append(planned)
    lines.append(drops_line(results))
    return lines
