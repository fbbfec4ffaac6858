"""``tacmesh sim sweep``: one scenario over seeds and a parameter grid, in parallel.

Runs on local processes, or as Dask tasks when given a scheduler address; prints a
progress bar while runs finish and a table of the rows at the end, and writes
``sweep.csv`` and ``sweep.png``. Exit status: 0 every run finished, 1 some runs failed
(their rows say why), 2 bad arguments, scenario or grid, or no cluster.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tacmesh.sim.sweep_headline import METRICS

PARAM_FORM = "PATH=VALUE[,VALUE...], e.g. --param radio.lora.spreading_factor=7,9,12"
SEEDS_FORM = "seeds like 1-5, 1,2,7 or 1-3,10"
EPILOG = """\
example:
  tacmesh sim sweep flood.toml --seeds 1-5 \\
      --param radio.lora.spreading_factor=7,9,12 \\
      --param traffic.position.every_s=15,30 --workers 2 --out runs/sf-sweep

  3 x 2 x 5 = 30 runs. Writes runs/sf-sweep/sweep.csv (one row per run: the parameters,
  then delivery_ratio, latency_p50_s, latency_p90_s, sos_ratio, sos_latency_p90_s,
  worst_failover_s, recovered_share, control_share, frames_sent, wall_s) and
  runs/sf-sweep/sweep.png (delivery_ratio against the first --param, mean over seeds with
  min-max whiskers, one line per value of the other parameters).

parameter paths:
  duration_s, topology_interval_s, ...        the scenario's own fields (seeds: --seeds)
  radio.<profile>.<field>                     a radio profile (built-in or [[radio]])
  traffic.<kind>.<field>                      every [[traffic]] entry of that kind
  failure.<index>.<field>                     the index-th [[failure]], from 0
  node.<name>.<field>                         a [[node]] table (a count table: all of it)
  node.<name>.mobility.<field>                its movement, e.g. node.uav-2.mobility.takeoff_s
  Values are read as whole numbers, numbers, true/false, else text.

on a Dask cluster:
  dask scheduler                                       (on one machine, HOST)
  dask worker tcp://HOST:8786 --nworkers 8 --nthreads 1    (on each machine)
  tacmesh sim sweep flood.toml --seeds 1-20 --scheduler tcp://HOST:8786
  One thread per worker process: a run is pure Python, so threads would share one core.
  Workers need the same tacmesh installed ('pip install tacmesh[cluster]') and the
  scenario file at the same path (a shared filesystem).
"""


def add_sweep_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sweep`` to the ``tacmesh sim`` sub-commands."""
    parser = sub.add_parser(
        "sweep",
        help="run a scenario over seeds and a parameter grid, in parallel",
        description="Run one scenario once per combination of seed and parameter values,\n"
        "on local processes or a Dask cluster, and gather the headline figures of every\n"
        "run into one table (sweep.csv) and one plot (sweep.png). A run that fails becomes\n"
        "a row with its error; the others go on. Exit status 1 if any run failed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", type=Path, metavar="SCENARIO.toml", help="scenario file")
    parser.add_argument(
        "--seeds",
        type=parse_seeds,
        metavar="SEEDS",
        help=f"{SEEDS_FORM} (default: the scenario's seed)",
    )
    parser.add_argument(
        "--param",
        dest="grid",
        type=parse_param,
        action=GridAction,
        default={},
        metavar="PATH=V1,V2",
        help="a parameter and its values; repeat for a grid (every combination is run)",
    )
    parser.add_argument(
        "--workers", type=positive_int, metavar="N", help="local processes (default: one per CPU)"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (tcp://host:8786)"
    )
    parser.add_argument(
        "--run-timeout",
        type=positive_float,
        metavar="S",
        help="stop any run after S seconds of wall time; it becomes a row with its error "
        "(default: no limit)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="output directory (default: <scenario>-sweep)"
    )
    parser.add_argument(
        "--y",
        default="delivery_ratio",
        choices=METRICS,
        metavar="METRIC",
        help=f"what sweep.png shows (default delivery_ratio; one of {', '.join(METRICS)})",
    )
    parser.set_defaults(handler=run_sweep_command)


# --- argument types ------------------------------------------------------------------------


def parse_seeds(text: str) -> list[int]:
    """``1-5`` -> 1..5, ``1,2,7``, or both mixed; each seed once."""
    seeds: list[int] = []
    for part in text.split(","):
        found = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if found is None:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {SEEDS_FORM}")
        low, high = int(found[1]), int(found[2] or found[1])
        if high < low:
            raise argparse.ArgumentTypeError(f"{text!r}: range {part.strip()} goes down")
        seeds += range(low, high + 1)
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{text!r}: seed {twice[0]} is given twice")
    return seeds


def parse_value(text: str) -> object:
    """A parameter value as TOML would read it: whole number, number, true/false, text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        return value
    return text


def parse_param(text: str) -> tuple[str, list[object]]:
    """``PATH=V1,V2,...`` -> (PATH, [values])."""
    path, equals, values = (part.strip() for part in text.partition("="))
    items = [item.strip() for item in values.split(",")]
    if not equals or not re.fullmatch(r"[A-Za-z_]\w*(\.[\w\-]+)*", path) or "" in items:
        raise argparse.ArgumentTypeError(f"{text!r} is not {PARAM_FORM}")
    return path, [parse_value(item) for item in items]


class GridAction(argparse.Action):
    """Collects repeated ``--param`` into one ordered grid; a path given twice is an error."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        path, items = cast(tuple[str, list[object]], values)  # what parse_param returns
        grid = dict(getattr(namespace, self.dest) or {})  # a copy: never the shared default
        if path in grid:
            raise argparse.ArgumentError(self, f"{path} is given twice; list all its values once")
        if path == "seed":
            raise argparse.ArgumentError(self, "seeds are not a --param: use --seeds 1-5")
        grid[path] = items
        setattr(namespace, self.dest, grid)


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of at least 1")
    return int(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds above 0")
    return value


# --- the command -------------------------------------------------------------------------


def run_sweep_command(args: argparse.Namespace) -> int:
    # the simulator loads in a second or so: not for `tacmesh --help`
    from tacmesh.sim.scenario import ScenarioError, load_scenario
    from tacmesh.sim.sweep_grid import check_grid

    err = Console(stderr=True)
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    problems = check_grid(scenario, args.grid)
    for problem in problems:
        err.print(f"error: --param {problem}", markup=False, highlight=False)
    if problems:
        return 2
    seeds = args.seeds or [scenario.seed]
    try:
        rows = _run(args, seeds, err)
    except (ImportError, OSError) as exc:  # TimeoutError is an OSError
        if args.scheduler is None:  # not about the cluster: a bug, show the traceback
            raise
        missing = isinstance(exc, ImportError)
        fix = "pip install 'tacmesh[cluster]'" if missing else "is the scheduler running?"
        err.print(f"error: scheduler {args.scheduler}: {exc}; {fix}", markup=False)
        return 2
    except KeyboardInterrupt:  # the pools have dropped their queues on the way out
        err.print("interrupted: no table written")
        return 130
    return _write(args, rows)


def _run(args: argparse.Namespace, seeds: list[int], err: Console) -> list[dict[str, object]]:
    from tacmesh.sim.sweep import sweep

    columns = (TextColumn("runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("runs", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return sweep(
            # absolute: workers (on a cluster, other machines) may start elsewhere
            str(args.scenario.resolve()),
            args.grid,
            seeds,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=progress,
            run_timeout_s=args.run_timeout,
        )


def _write(args: argparse.Namespace, rows: list[dict[str, object]]) -> int:
    from tacmesh.sim.sweep_output import plot_sweep, write_table

    out: Path = args.out or Path(f"{args.scenario.stem}-sweep")
    out.mkdir(parents=True, exist_ok=True)
    x = next(iter(args.grid), "seed")
    table = write_table(rows, out / "sweep.csv")
    plot = plot_sweep(rows, x, args.y, out / "sweep.png")
    failed = sum("error" in row for row in rows)
    Console().print(rows_table(rows, table))
    print(f"{len(rows)} runs, {failed} failed; wrote {table} and {plot}")
    return 1 if failed else 0


TERMINAL = {
    "delivery_ratio": "all\nratio",
    "latency_p90_s": "all\np90 s",
    "sos_ratio": "SOS\nratio",
    "sos_latency_p90_s": "SOS\np90 s",
    "worst_failover_s": "failover\nworst s",
    "control_share": "control\nshare",
}
"""The metrics shown in the terminal, with short headers: all ten beside the parameters do
not fit 80 columns (rich then folds every number); the CSV has every column."""


def rows_table(rows: Sequence[Mapping[str, object]], csv_path: Path | None = None) -> Table:
    """The rows for the terminal: parameters, seed, the ``TERMINAL`` metrics and errors;
    shares as percentages, other numbers to three significant digits."""
    from tacmesh.sim.sweep_output import NOT_PARAMETERS, columns

    every = columns(rows)
    params = [name for name in every if name not in NOT_PARAMETERS]
    shown = [*params, "seed", *TERMINAL, *(["error"] if "error" in every else [])]
    labels = {**short_names(params), **TERMINAL}
    caption = f"every column, full names: {csv_path}" if csv_path else None
    table = Table(title="sweep", caption=caption, box=box.SIMPLE_HEAD, collapse_padding=True)
    for name in shown:
        justify: Literal["left", "right"] = "left" if name == "error" else "right"
        table.add_column(labels.get(name, name), justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*(_show(name, row.get(name)) for name in shown))
    return table


def short_names(paths: Sequence[str], width: int = 10) -> dict[str, str]:
    """Each parameter path by its shortest dotted suffix that no other path ends with,
    folded after ``_`` or ``.`` into lines of about ``width`` (``spreading_`` over
    ``factor``)."""
    names = {}
    for path in paths:
        parts = path.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if sum(p == suffix or p.endswith("." + suffix) for p in paths) == 1:
                break
        names[path] = _fold(suffix, width)
    return names


def _fold(text: str, width: int) -> str:
    lines = [""]
    for token in re.findall(r"[^_.]+[_.]?|[_.]", text):
        if lines[-1] and len(lines[-1]) + len(token) > width:
            lines.append("")
        lines[-1] += token
    return "\n".join(lines)


def _show(name: str, value: object) -> str:
    if value is None:
        return "—"
    if name == "error":
        return f"[red]{escape(str(value))}[/red]"
    if isinstance(value, float) and name.endswith(("_ratio", "_share")):
        return f"{100 * value:.1f}%"
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape(str(value))
