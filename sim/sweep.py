"""Parameter sweeps: one scenario over a grid of overrides and many seeds, run in parallel.

:func:`plan` lists the points (the cartesian product, seeds innermost), :func:`sweep` runs
``runner(scenario_path, point)`` once per point on local processes or, given a scheduler
address, as one Dask task each, and returns one row per point in plan order. The scenario
travels as a path and every worker loads it itself: a path pickles in bytes, and workers
of a cluster read it from the shared filesystem, so the path must be valid there.

A run that raises becomes a row with the point's parameters and ``error`` (the exception)
and the others go on: one bad corner of a grid should not throw away a night of runs. So
does a run past the sweep's ``run_timeout_s`` of wall time (a corner of the grid where the
network melts down and the simulation crawls), so that one run cannot hold up the rest.
Tables and plots of the rows are in ``sweep_output.py``; the override paths are those of
``tacmesh.sim.run.apply_overrides`` (``sweep_grid.check_grid`` tries them before a sweep).
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

from tacmesh.sim.sweep_headline import headline

Point = dict[str, object]
Row = dict[str, object]
Runner = Callable[[str, Point], Row]
Progress = Callable[[int, int], None]
Record = Callable[[int, Row | BaseException], None]
"""Called once per finished point: its index in the plan and its row or exception."""

START_METHOD = "spawn"
"""How local workers start. Not ``fork``: the parent has threads while it submits (rich's
refresh thread, a Dask client's loop) and a forked child can inherit a lock one of them
held, then hang. ``spawn`` rather than ``forkserver``: it is the same on Linux, macOS and
Windows, and it is how Dask starts its workers, so a runner that works locally (importable
by name, picklable points) works on a cluster too. A fresh interpreter per worker costs
about a second, once per worker, not per run."""


def plan(grid: Mapping[str, Sequence[object]], seeds: Sequence[int]) -> list[Point]:
    """Every combination of the grid's values and the seeds: grid keys in the given order,
    the first key varying slowest, seeds innermost; each point includes ``seed``."""
    if "seed" in grid:
        raise ValueError('"seed" is not a grid parameter: pass the seeds as seeds')
    if not seeds:
        raise ValueError("no seeds: give at least one")
    empty = [key for key, values in grid.items() if not values]
    if empty:
        raise ValueError(f"grid parameter {empty[0]!r} has no values")
    keys = [*grid, "seed"]
    product = itertools.product(*grid.values(), seeds)
    return [dict(zip(keys, values, strict=True)) for values in product]


def run_point(scenario_path: str, point: Point, wall_limit_s: float | None = None) -> Row:
    """Load the scenario, apply the point's overrides (``seed`` included), run it without
    writing files, and return the point followed by the headline figures (``METRICS``).
    ``wall_s`` is the time this worker spent on the point, loading included. A run past
    ``wall_limit_s`` of real time raises ``RunTimeoutError`` (its row says so)."""
    # imported here: a worker process pays for the simulator only when it runs one
    from tacmesh.sim.run import apply_overrides, run_scenario
    from tacmesh.sim.scenario import load_scenario

    started = time.perf_counter()
    scenario = apply_overrides(load_scenario(scenario_path), point)
    results = run_scenario(scenario, wall_limit_s=wall_limit_s)
    return {**point, **headline(results, time.perf_counter() - started)}


def sweep(
    scenario_path: str | Path,
    grid: Mapping[str, Sequence[object]],
    seeds: Sequence[int],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    runner: Runner = run_point,
    progress: Progress | None = None,
    run_timeout_s: float | None = None,
) -> list[Row]:
    """One row per point of ``plan(grid, seeds)``, in plan order.

    Local: a process pool of ``workers`` (default: one per CPU). With ``scheduler`` (an
    address such as ``tcp://10.0.0.5:8786``): one Dask task per point on that cluster;
    ``workers`` is then unused. ``progress(done, total)`` is called with 0 first and after
    each run finishes, from the calling thread. ``runner`` must be a module-level function
    (both pools pickle it by name). ``run_timeout_s``: each run stops after that much wall
    time and becomes an error row (default runner only).
    """
    points = plan(grid, seeds)
    if run_timeout_s is not None:
        if runner is not run_point:
            raise ValueError("run_timeout_s limits the default runner only")
        runner = functools.partial(run_point, wall_limit_s=run_timeout_s)
    rows: list[Row | None] = [None] * len(points)
    count = 0

    def record(index: int, outcome: Row | BaseException) -> None:
        nonlocal count
        rows[index] = outcome if isinstance(outcome, dict) else error_row(points[index], outcome)
        count += 1
        if progress is not None:
            progress(count, len(points))

    if progress is not None:
        progress(0, len(points))
    path = str(scenario_path)
    if scheduler is None:
        _run_local(runner, path, points, workers, record)
    else:
        from tacmesh.sim.sweep_dask import run_dask  # optional dependency: import on use

        run_dask(runner, path, points, scheduler, record)
    finished = [row for row in rows if row is not None]
    if len(finished) != len(points):  # both executors wait for every future
        raise RuntimeError(f"sweep lost {len(points) - len(finished)} of {len(points)} runs")
    return finished


def error_row(point: Point, exc: BaseException) -> Row:
    """The row of a run that raised: its parameters and the exception as text."""
    return {**point, "error": f"{type(exc).__name__}: {exc}"}


def _run_local(
    runner: Runner, path: str, points: list[Point], workers: int | None, record: Record
) -> None:
    size = max(1, min(workers or os.cpu_count() or 1, len(points)))  # no idle processes
    context = multiprocessing.get_context(START_METHOD)
    with ProcessPoolExecutor(max_workers=size, mp_context=context) as pool:
        futures = {pool.submit(runner, path, point): i for i, point in enumerate(points)}
        try:
            for future in as_completed(futures):
                record(futures[future], _outcome(future))
        finally:
            # on Ctrl-C or a failing progress callback: drop the queue, do not run it out
            pool.shutdown(cancel_futures=True)


def _outcome(future: Future[Row]) -> Row | BaseException:
    """The future's row, or what it raised (a worker that died raises here too)."""
    try:
        return future.result()
    except Exception as exc:  # any run's failure is data for its row, not ours to raise
        return exc
