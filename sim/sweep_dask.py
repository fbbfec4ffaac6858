"""Sweep points as Dask tasks on a running cluster (``pip install tacmesh[cluster]``).

Each point is one task (``pure=False``: the same point with the same seed is still a run
of its own, never a cached result). Workers need tacmesh installed, at the same version,
because the runner and the row travel by name and by pickle; the scenario path must be
readable on the workers.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from tacmesh.sim.sweep import Point, Record, Row, Runner


def run_dask(
    runner: Runner, path: str, points: list[Point], scheduler: str, record: Record
) -> None:
    """Submit every point to the cluster at ``scheduler`` and record each as it finishes."""
    # distributed's Client and as_completed are unannotated (mypy strict rejects calling
    # them): the module is held as Any here and only rows, cast below, leave this file
    distributed: Any = importlib.import_module("distributed")
    # not the default client: a sweep inside a program must not capture its dask.compute
    with distributed.Client(scheduler, set_as_default=False) as client:
        futures = [client.submit(runner, path, point, pure=False) for point in points]
        index = {future.key: i for i, future in enumerate(futures)}
        # leaving the block closes the client, which releases the futures: on an error or
        # Ctrl-C the scheduler forgets the queued runs instead of running them for no one
        for future in distributed.as_completed(futures, loop=client.loop):
            record(index[future.key], _outcome(future))


def _outcome(future: Any) -> Row | BaseException:
    """The task's row, or what it raised (``KilledWorker`` if its workers kept dying)."""
    try:
        return cast(Row, future.result())
    except Exception as exc:  # any run's failure is data for its row, not ours to raise
        return exc
